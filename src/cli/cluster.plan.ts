/**
 * The pure half of `mosaic cluster`: validating its options, laying out the nodes (ports, data
 * dirs, the `mosaic node` arguments of each) and choosing which child log lines to show.
 * No I/O here; cluster.command.ts does the file system and cluster.processes.ts the processes.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from '../config/node-config.js';

export type LogLevel = (typeof LOG_LEVELS)[number];

export const MAX_NODES = 32;

const ClusterOptionsSchema = z
  .object({
    nodes: z.coerce
      .number()
      .int('--nodes is a whole number.')
      .min(1, '--nodes is at least 1.')
      .max(MAX_NODES, `--nodes is at most ${MAX_NODES}.`),
    basePort: z.coerce
      .number()
      .int('--base-port is a whole number.')
      .min(1, '--base-port is at least 1.')
      .max(65535, '--base-port is at most 65535.'),
    dataDir: z.string().min(1, '--data names a directory.'),
    host: z.string().min(1, '--host names an address.'),
    logLevel: z.enum(LOG_LEVELS),
  })
  .refine((o) => o.basePort + o.nodes - 1 <= 65535, {
    message: 'The last node port (--base-port + --nodes - 1) is above 65535.',
    path: ['basePort'],
  });

export type ClusterOptions = z.infer<typeof ClusterOptionsSchema>;

/** Validates the command-line values (strings, as commander gives them). */
export function parseClusterOptions(raw: Record<keyof ClusterOptions, unknown>): ClusterOptions {
  // z.coerce.number() turns "" and "  " into 0 and "0x10" into 16: insist on plain digits.
  for (const key of ['nodes', 'basePort'] as const) {
    const value = raw[key];
    if (typeof value === 'string' && !/^\d+$/.test(value.trim())) {
      const flag = key === 'nodes' ? '--nodes' : '--base-port';
      throw new Error(`Invalid option: ${flag} is a whole number, not "${value}".`);
    }
  }
  const parsed = ClusterOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`Invalid option: ${parsed.error.issues.map((i) => i.message).join(' ')}`);
  }
  return parsed.data;
}

/** One child `mosaic node` of the cluster. */
export interface NodePlan {
  readonly name: string;
  readonly port: number;
  /** The URL the other nodes (and the banner) use for it. */
  readonly url: string;
  readonly dataDir: string;
  /** The synced folder, when `mosaic node` knows `--folder`. */
  readonly folder?: string;
  /** Arguments after `bin/mosaic.js`. The cluster key and admin password go in the env. */
  readonly args: readonly string[];
}

export interface PlanContext {
  /** Whether `mosaic node` has a `--folder` option (folder sync arrives in a later issue). */
  readonly withFolders: boolean;
}

/** Node i (1-based) is `node-i` on port base+i-1 with data in `<data>/node-i/`. */
export function planNodes(options: ClusterOptions, context: PlanContext): NodePlan[] {
  const layout = Array.from({ length: options.nodes }, (_, index) => {
    const name = `node-${index + 1}`;
    const port = options.basePort + index;
    return { name, port, url: nodeUrl(options.host, port), dataDir: join(options.dataDir, name) };
  });
  return layout.map((node) => {
    const folder = context.withFolders ? join(node.dataDir, 'folder') : undefined;
    const args = [
      'node',
      ['--data', node.dataDir],
      ['--port', String(node.port)],
      ['--host', options.host],
      ['--name', node.name],
      ['--log-level', childLogLevel(options.logLevel)],
      // The peers are known, so LAN discovery would only add noise (and a shared UDP port).
      ['--discovery', 'off'],
      ['--advertise-url', node.url],
      ...layout.filter((other) => other !== node).map((other) => ['--peer', other.url]),
      ...(folder === undefined ? [] : [['--folder', folder]]),
    ].flat();
    return folder === undefined ? { ...node, args } : { ...node, folder, args };
  });
}

/** How a node on `host` is reached from this machine: a wildcard address means loopback. */
export function nodeUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const literal = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `http://${literal}:${port}`;
}

/**
 * The children log at info at least: the cluster waits for their "node listening" line. The
 * cluster's own --log-level only filters what it forwards.
 */
export function childLogLevel(level: LogLevel): LogLevel {
  return level === 'debug' || level === 'trace' ? level : 'info';
}

/** pino's numeric levels. */
const LEVEL_VALUES: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

const LEVEL_NAMES = new Map<number, string>(
  Object.entries(LEVEL_VALUES).map(([name, value]) => [value, name.toUpperCase()]),
);

/** The pino fields that are noise in a forwarded line (the prefix already names the node). */
const HIDDEN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'node', 'msg']);

/** A parsed child log line: pino JSON, or a plain line (a crash, a message for people). */
export type ChildLine =
  | { readonly kind: 'json'; readonly level: number; readonly fields: Record<string, unknown> }
  | { readonly kind: 'plain'; readonly text: string };

export function parseChildLine(raw: string): ChildLine | undefined {
  if (raw.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const fields = value as Record<string, unknown>;
      const level = fields['level'];
      return { kind: 'json', level: typeof level === 'number' ? level : LEVEL_VALUES.info, fields };
    }
  } catch {
    // not JSON: a plain line
  }
  return { kind: 'plain', text: raw };
}

/**
 * The line to show for a child's output, prefixed with the node name, or undefined to drop it.
 * JSON lines below `threshold` are dropped; plain lines always show (they are crash reports and
 * messages meant for people), even at "silent".
 */
export function formatChildLine(
  name: string,
  line: ChildLine,
  threshold: LogLevel,
): string | undefined {
  if (line.kind === 'plain') return `[${name}] ${line.text}`;
  if (line.level < LEVEL_VALUES[threshold]) return undefined;
  const level = LEVEL_NAMES.get(line.level) ?? `LEVEL${line.level}`;
  const msg = line.fields['msg'];
  const rest = Object.fromEntries(
    Object.entries(line.fields).filter(([key]) => !HIDDEN_FIELDS.has(key)),
  );
  const parts = [`[${name}]`, level];
  if (typeof msg === 'string') parts.push(msg);
  if (Object.keys(rest).length > 0) parts.push(JSON.stringify(rest));
  return parts.join(' ');
}

/** The URL in a child's "node listening" line, if this is that line. */
export function listeningUrl(line: ChildLine): string | undefined {
  if (line.kind !== 'json' || line.fields['msg'] !== 'node listening') return undefined;
  const url = line.fields['url'];
  return typeof url === 'string' ? url : undefined;
}
