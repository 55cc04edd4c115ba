/**
 * What the processes of one site tell each other: "these operations are committed" and "these
 * pictures just became visible". The process that commits an operation (or takes it in from a
 * peer) tells the others, so that each one's live feed (`/api/stream`) hears every change
 * whichever process made it, and the process holding the replication lease pushes at once what
 * another process committed. Hints only: nothing is lost when one is missed (the periodic
 * anti-entropy cycle pushes anyway, and a client's next fetch is complete).
 *
 * On PostgreSQL it is `LISTEN/NOTIFY` on one channel (a dedicated connection per process,
 * reconnected when it drops); a one-process site (SQLite) has nobody to tell. `pg` is loaded
 * when a PostgreSQL bus opens, not with this module.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { LoginEvent } from '../../accounts/login-limiter.js';
import type { Op } from '../../oplog/op.js';
import { boundQueries, outageAsUnavailable } from './pg-bounds.js';

/** A run of one origin's sequence numbers, `from` to `to` inclusive. */
export interface OpRange {
  readonly origin: string;
  readonly from: number;
  readonly to: number;
}

export interface SiteMessage {
  readonly ops?: readonly OpRange[];
  /**
   * The pictures those operations touched: what the live feed needs, so that a process that
   * does not lead the site has no operations to read. Absent from a process of an older
   * version (its listeners then read the ranges).
   */
  readonly changed?: readonly string[];
  /** The albums those operations touched (the live feed's album pages). */
  readonly albums?: readonly string[];
  /** Pictures whose bytes just arrived (visible now). */
  readonly visible?: readonly string[];
  /**
   * Those operations may take someone's access away (a disable, a password change, a revoked
   * token): the live feed's open streams check their callers again (LiveFeed.accessChanged).
   */
  readonly access?: boolean;
  /** Sign-in outcomes, so that the back-off counts every process's attempts. */
  readonly login?: readonly LoginEvent[];
}

export type SiteListener = (message: SiteMessage) => void;

export interface SiteBus {
  publish(message: SiteMessage): Promise<void>;
  subscribe(listener: SiteListener): () => void;
  close(): Promise<void>;
}

/** A site of one process: nobody else to tell. */
export const soloBus: SiteBus = {
  publish: () => Promise.resolve(),
  subscribe: () => () => undefined,
  close: () => Promise.resolve(),
};

/** The runs of sequence numbers a batch of operations covers, per origin. */
export function opRanges(ops: readonly Op[]): OpRange[] {
  const byOrigin = new Map<string, number[]>();
  for (const op of ops) {
    const seqs = byOrigin.get(op.origin) ?? [];
    seqs.push(op.seq);
    byOrigin.set(op.origin, seqs);
  }
  const ranges: OpRange[] = [];
  for (const [origin, seqs] of byOrigin) {
    seqs.sort((a, b) => a - b);
    let from = seqs[0] ?? 0;
    let to = from;
    for (const seq of seqs.slice(1)) {
      if (seq === to + 1 || seq === to) {
        to = seq;
        continue;
      }
      ranges.push({ origin, from, to });
      from = seq;
      to = seq;
    }
    ranges.push({ origin, from, to });
  }
  return ranges;
}

const CHANNEL = 'mosaic_site';
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7000;
const RECONNECT_MS = 1000;

interface Envelope {
  readonly from: string;
  readonly m: SiteMessage;
}

type PgLib = typeof pg;

/** LISTEN/NOTIFY on the site's PostgreSQL database. */
export class PostgresSiteBus implements SiteBus {
  private readonly self = randomBytes(8).toString('hex');
  private readonly listeners = new Set<SiteListener>();
  private client: pg.Client | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly pg: PgLib,
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly onError: (error: Error) => void,
    private readonly timeoutMs: number,
  ) {}

  static async open(url: string, onError: (error: Error) => void): Promise<PostgresSiteBus> {
    const [{ default: pgLib }, { guardClient, postgresSettings }] = await Promise.all([
      import('pg'),
      import('./postgres.js'),
    ]);
    const settings = postgresSettings(url);
    const pool = new pgLib.Pool({
      connectionString: settings.url,
      max: 2,
      connectionTimeoutMillis: settings.timeoutMs,
    });
    // An idle pooled connection that dies (the server restarts) is an 'error' event on the pool:
    // without a listener it is thrown, and the process exits.
    pool.on('error', onError);
    // A database that stops answering must not pile up NOTIFYs waiting for ever.
    pool.on('connect', (client) => {
      guardClient(client);
      boundQueries(client, () => settings.timeoutMs);
    });
    const bus = new PostgresSiteBus(pgLib, settings.url, pool, onError, settings.timeoutMs);
    await bus.connect();
    return bus;
  }

  private async connect(): Promise<void> {
    const client = new this.pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.timeoutMs,
    });
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || n.payload === undefined) return;
      this.deliver(n.payload);
    });
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      if (error) this.onError(error);
      client.end().catch(() => undefined);
      this.reconnectLater();
    };
    client.on('error', lost);
    client.on('end', () => {
      lost();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private reconnectLater(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        this.onError(error as Error);
        this.reconnectLater();
      });
    }, RECONNECT_MS);
    this.timer.unref();
  }

  private deliver(payload: string): void {
    // Anyone who may use the database may NOTIFY on the channel: a payload that is not one of
    // ours is dropped (a throw here would be uncaught, and end every process of the site).
    const envelope = parseEnvelope(payload);
    if (envelope === null || envelope.from === this.self) return;
    for (const listener of this.listeners) {
      try {
        listener(envelope.m);
      } catch (error) {
        this.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  async publish(message: SiteMessage): Promise<void> {
    for (const part of split(message)) {
      const payload = JSON.stringify({ from: this.self, m: part } satisfies Envelope);
      await this.pool
        .query('SELECT pg_notify($1, $2)', [CHANNEL, payload])
        .catch((error: unknown) => {
          throw outageAsUnavailable(error);
        });
    }
  }

  subscribe(listener: SiteListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
    await this.pool.end();
  }
}

/**
 * A message as it travels: the fields this version knows are checked, others (from a newer
 * process of the site, during an upgrade) are kept as they are and ignored by the listeners.
 */
const MessageSchema = z.looseObject({
  ops: z
    .array(z.object({ origin: z.string().min(1), from: z.number().int(), to: z.number().int() }))
    .optional(),
  changed: z.array(z.string()).optional(),
  albums: z.array(z.string()).optional(),
  visible: z.array(z.string()).optional(),
  access: z.boolean().optional(),
  login: z
    .array(
      z.object({
        scope: z.enum(['account', 'address']),
        key: z.string().min(1).max(128),
        at: z.number().int().nonnegative(),
        outcome: z.enum(['failure', 'success']),
      }),
    )
    .optional(),
});
const EnvelopeSchema = z.object({ from: z.string(), m: MessageSchema });

/** The envelope in a NOTIFY payload, or null when it is not a well-formed one. */
export function parseEnvelope(payload: string): Envelope | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = EnvelopeSchema.safeParse(value);
  if (!parsed.success) return null;
  // Zod types absent keys as `undefined`; JSON.parse never makes an `undefined` value.
  return { from: parsed.data.from, m: parsed.data.m as SiteMessage };
}

/** Splits a message into parts whose payload fits a NOTIFY. */
function split(message: SiteMessage): SiteMessage[] {
  if (JSON.stringify(message).length <= MAX_PAYLOAD) return [message];
  const parts: SiteMessage[] = [];
  const ops = [...(message.ops ?? [])];
  const changed = [...(message.changed ?? [])];
  const albums = [...(message.albums ?? [])];
  const visible = [...(message.visible ?? [])];
  const login = [...(message.login ?? [])];
  // An op range is ~60 bytes and a picture id 67: 80 of either stay well under the limit. The
  // ranges' parts say `changed: []` when the message had it: its ids come in parts of their own.
  const noneChanged = message.changed === undefined ? {} : { changed: [] };
  if (message.access === true) parts.push({ access: true });
  while (ops.length > 0) parts.push({ ops: ops.splice(0, 80), ...noneChanged });
  while (changed.length > 0) parts.push({ changed: changed.splice(0, 80) });
  while (albums.length > 0) parts.push({ albums: albums.splice(0, 80) });
  while (visible.length > 0) parts.push({ visible: visible.splice(0, 80) });
  // A login event is at most ~190 bytes (its key is at most 128).
  while (login.length > 0) parts.push({ login: login.splice(0, 30) });
  return parts;
}
