/**
 * A node's configuration: command-line flags first, then their environment twins
 * (MOSAIC_DATA, MOSAIC_PORT, ...), then defaults. Validated once, here.
 */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const NodeConfigSchema = z.object({
  dataDir: z.string().min(1, 'Give a data directory with --data or MOSAIC_DATA.'),
  port: z.coerce.number().int().min(0).max(65535).default(7070),
  host: z.string().min(1).default('127.0.0.1'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'A node name uses letters, digits, ".", "_" and "-".')
    .optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  maxUploadBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  trashRetentionDays: z.coerce.number().positive().default(30),
  adminPassword: z.string().min(1).optional(),
});

export type NodeConfig = z.infer<typeof NodeConfigSchema>;

/** Flag names and their environment twins. */
export const ENV_TWINS: Record<keyof NodeConfig, string> = {
  dataDir: 'MOSAIC_DATA',
  port: 'MOSAIC_PORT',
  host: 'MOSAIC_HOST',
  name: 'MOSAIC_NAME',
  logLevel: 'MOSAIC_LOG_LEVEL',
  maxUploadBytes: 'MOSAIC_MAX_UPLOAD_BYTES',
  trashRetentionDays: 'MOSAIC_TRASH_DAYS',
  adminPassword: 'MOSAIC_ADMIN_PASSWORD',
};

/** Merges flags over environment variables and validates the result. */
export function resolveNodeConfig(
  flags: Partial<Record<keyof NodeConfig, string | number | undefined>>,
  env: NodeJS.ProcessEnv,
): NodeConfig {
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(ENV_TWINS) as (keyof NodeConfig)[]) {
    const value = flags[key] ?? env[ENV_TWINS[key]];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = NodeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
