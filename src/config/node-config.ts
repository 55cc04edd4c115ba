/**
 * A node's configuration: command-line flags first, then their environment twins
 * (MOSAIC_DATA, MOSAIC_PORT, ...), then defaults. Validated once, here.
 */
import { z } from 'zod';
import { parseBlobsUrl } from './blobs-url.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const NodeConfigSchema = z.object({
  dataDir: z.string().min(1, 'Give a data directory with --data or MOSAIC_DATA.'),
  port: z.coerce.number().int().min(0).max(65535).default(7070),
  host: z.string().min(1).default('127.0.0.1'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'A node name uses only a–z, A–Z, 0–9, ".", "_" and "-".')
    .optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  maxUploadBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  trashRetentionDays: z.coerce.number().positive().default(30),
  adminPassword: z.string().min(1).optional(),
  /** Static peers: base URLs of other nodes of the cluster. */
  peers: z.array(z.url({ protocol: /^https?$/, error: 'A peer is an http(s) URL.' })).default([]),
  /** The shared secret that authenticates every peer request and discovery announcement. */
  clusterKey: z
    .string()
    .min(16, 'A cluster key has at least 16 characters (mosaic cluster generates one).')
    .optional(),
  discovery: z.enum(['on', 'off']).default('on'),
  discoveryPort: z.coerce.number().int().min(1).max(65535).default(7077),
  /** How often each node pulls from its peers and retries what failed (anti-entropy). */
  syncIntervalMs: z.coerce.number().int().min(50).default(5000),
  /** Synced folders, `[NAME=]DIR` each. */
  folders: z.array(z.string().min(1)).default([]),
  /** Accounts (not admins) that may sync a folder from a device: `FOLDER=USER` each. */
  folderUsers: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}=[A-Za-z0-9_.-]{1,64}$/, 'FOLDER=USER'))
    .default([]),
  /** The URL other nodes should use to reach this one (defaults to the listening address). */
  advertiseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Where metadata lives: the SQLite file under dataDir (default) or a PostgreSQL database
   * (`postgres://…`) shared by every process of the site.
   */
  database: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/i, 'A postgres://… URL (or sqlite:FILE).')
    .optional(),
  /** Where bytes live: local files under dataDir (default) or `s3://BUCKET?endpoint=…`. */
  blobs: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        // Credentials from the environment are checked again when the store opens.
        parseBlobsUrl(value, {});
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /**
   * Which reverse proxies' X-Forwarded-For/-Proto/-Host to believe: `off`, `on` (any sender:
   * only when nothing but the proxy can reach the port), or the proxies' addresses/CIDRs.
   */
  trustProxy: z
    .string()
    .regex(/^(on|off|[0-9A-Fa-f.:/]+(,\s*[0-9A-Fa-f.:/]+)*)$/, 'on, off, or addresses/CIDRs')
    .default('off')
    .transform(parseTrustProxy),
  /** A bearer token that may read /metrics without an account (for Prometheus). */
  metricsToken: z.string().min(16, 'A metrics token has at least 16 characters.').optional(),
});

/** The --trust-proxy value as Fastify's trustProxy option. */
function parseTrustProxy(value: string): boolean | string {
  if (value === 'on') return true;
  if (value === 'off') return false;
  return value;
}

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
  peers: 'MOSAIC_PEERS',
  clusterKey: 'MOSAIC_CLUSTER_KEY',
  discovery: 'MOSAIC_DISCOVERY',
  discoveryPort: 'MOSAIC_DISCOVERY_PORT',
  syncIntervalMs: 'MOSAIC_SYNC_INTERVAL_MS',
  advertiseUrl: 'MOSAIC_ADVERTISE_URL',
  folders: 'MOSAIC_FOLDERS',
  folderUsers: 'MOSAIC_FOLDER_USERS',
  blobs: 'MOSAIC_BLOBS',
  database: 'MOSAIC_DATABASE',
  trustProxy: 'MOSAIC_TRUST_PROXY',
  metricsToken: 'MOSAIC_METRICS_TOKEN',
};

/** Environment variables that hold lists (comma-separated). */
const LIST_KEYS = new Set<keyof NodeConfig>(['peers', 'folders', 'folderUsers']);

/** Merges flags over environment variables and validates the result. */
export function resolveNodeConfig(
  flags: Partial<Record<keyof NodeConfig, string | number | readonly string[] | undefined>>,
  env: NodeJS.ProcessEnv,
): NodeConfig {
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(ENV_TWINS) as (keyof NodeConfig)[]) {
    const flag = flags[key];
    const fromEnv = env[ENV_TWINS[key]];
    if (Array.isArray(flag) && flag.length > 0) merged[key] = flag;
    else if (flag !== undefined && !Array.isArray(flag) && flag !== '') merged[key] = flag;
    else if (fromEnv !== undefined && fromEnv !== '') {
      merged[key] = LIST_KEYS.has(key)
        ? fromEnv
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : fromEnv;
    }
  }
  const parsed = NodeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof NodeConfig;
      const given = flags[key];
      const fromFlag = Array.isArray(given)
        ? given.length > 0
        : given !== undefined && given !== '';
      return problemOf(key, fromFlag, issue.message);
    });
    throw new Error([...new Set(problems)].join(' '));
  }
  return parsed.data;
}

/** What a number-valued setting is, said when it is not. */
const NUMBER_RULES: Partial<Record<keyof NodeConfig, string>> = {
  port: 'a number from 0 to 65535',
  discoveryPort: 'a number from 1 to 65535',
  maxUploadBytes: 'a whole number of bytes, more than 0',
  trashRetentionDays: 'a number of days, more than 0',
  syncIntervalMs: 'a whole number of milliseconds, at least 50',
};

/** One setting's problem, named the way it was given: by its flag or its variable. */
function problemOf(key: keyof NodeConfig, fromFlag: boolean, message: string): string {
  const flag = `--${key === 'dataDir' ? 'data' : key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const env = ENV_TWINS[key];
  if (key === 'dataDir' && !fromFlag) return `${flag} is required (or ${env}).`;
  // The admin password has no flag.
  const where = fromFlag || key === 'adminPassword' ? (key === 'adminPassword' ? env : flag) : env;
  const rule = NUMBER_RULES[key];
  if (rule !== undefined) return `${where} is ${rule}.`;
  return `${where}: ${/[.?!]$/.test(message) ? message : `${message}.`}`;
}
