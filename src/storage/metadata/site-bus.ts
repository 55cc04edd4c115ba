/**
 * The site bus: how the processes of one site hear that another one committed operations, so
 * they refresh their live feed (`/api/stream`) and kick replication at once instead of at the
 * next timer. Messages are hints ("ops of `origin` committed up to `seq`"), never data: a
 * listener reads what changed through its repositories, so a lost or spurious message costs at
 * most a refresh, and after a gap (the bus reconnected) listeners are told to refresh all.
 *
 * A process hears the other processes' commits, never its own: it knows those already (its
 * ChangeLog told it), and hearing them twice would only double the work.
 *
 * PostgreSQL: `pg_notify` inside the committing transaction (PostgreSQL delivers it if and when
 * that transaction commits, in commit order), heard through `LISTEN` on one dedicated
 * connection per process, reconnected with backoff when it drops. SQLite: a site is one process,
 * so there is nobody to tell; `LocalSiteBus` connects the stores of one process (tests that run
 * several "processes" in one), delivering after the transaction's promise settles.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.js';

export const SITE_BUS_CHANNEL = 'mosaic_site_ops';

export interface SiteCommit {
  readonly origin: string;
  readonly seq: number;
}

export type SiteBusMessage =
  | ({ readonly kind: 'ops' } & SiteCommit)
  /** Messages may have been missed (the bus reconnected): refresh everything. */
  | { readonly kind: 'resync' };

export interface SiteBus {
  /**
   * Tells the site's other processes, if and when `trx` commits, that `origin`'s operations
   * are committed up to `seq`. Call it inside the committing transaction.
   */
  announce(trx: Transaction<Schema>, commit: SiteCommit): Promise<void>;
  /** Listens to the other processes' commits; returns the unsubscribe function. */
  subscribe(listener: (message: SiteBusMessage) => void): () => void;
  close(): Promise<void>;
}

/** What travels on the channel: the sending process (to skip its own), origin and seq. */
interface Payload {
  readonly p: string;
  readonly o: string;
  readonly s: number;
}

export function encodePayload(sender: string, commit: SiteCommit): string {
  const payload: Payload = { p: sender, o: commit.origin, s: commit.seq };
  return JSON.stringify(payload);
}

/** The payload, or null when it is not one of ours (anyone with access may NOTIFY). */
export function decodePayload(text: string): Payload | null {
  try {
    const value = JSON.parse(text) as Partial<Payload> | null;
    if (
      value === null ||
      typeof value.p !== 'string' ||
      typeof value.o !== 'string' ||
      value.o.length === 0 ||
      value.o.length > 200 ||
      !Number.isSafeInteger(value.s) ||
      (value.s ?? -1) < 0
    ) {
      return null;
    }
    return { p: value.p, o: value.o, s: value.s as number };
  } catch {
    return null;
  }
}

class Listeners {
  private readonly set = new Set<(message: SiteBusMessage) => void>();

  add(listener: (message: SiteBusMessage) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(message: SiteBusMessage, onError: (error: unknown) => void): void {
    for (const listener of this.set) {
      try {
        listener(message);
      } catch (error) {
        onError(error);
      }
    }
  }
}

export interface PostgresSiteBusOptions {
  /** First reconnection delay; doubled up to `maxBackoffMs` (default 100 ms, 5 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** The listening connection dropped, or a listener threw. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Opens the bus on a PostgreSQL database: resolves once this process listens, so that any
 * commit after it is heard.
 */
export async function openPostgresSiteBus(
  url: string,
  options: PostgresSiteBusOptions = {},
): Promise<PostgresSiteBus> {
  const bus = new PostgresSiteBus(url, options);
  await bus.connect();
  return bus;
}

export class PostgresSiteBus implements SiteBus {
  /** This process, as senders are told apart on the channel. */
  readonly sender = randomBytes(8).toString('hex');
  private readonly listeners = new Listeners();
  private client: pg.Client | null = null;
  private closed = false;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly onError: (error: unknown) => void;

  constructor(
    private readonly url: string,
    private readonly options: PostgresSiteBusOptions,
  ) {
    this.backoffMs = options.minBackoffMs ?? 100;
    this.onError = options.onError ?? (() => undefined);
  }

  async announce(trx: Transaction<Schema>, commit: SiteCommit): Promise<void> {
    await sql`SELECT pg_notify(${SITE_BUS_CHANNEL}, ${encodePayload(this.sender, commit)})`.execute(
      trx,
    );
  }

  subscribe(listener: (message: SiteBusMessage) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Whether the listening connection is up (for /metrics and tests). */
  get listening(): boolean {
    return this.client !== null;
  }

  /** Connects and LISTENs; throws when the database cannot be reached. */
  async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', (error) => {
      this.onError(error);
      this.dropped(client);
    });
    client.on('end', () => {
      this.dropped(client);
    });
    client.on('notification', (message) => {
      if (message.channel !== SITE_BUS_CHANNEL || message.payload === undefined) return;
      const payload = decodePayload(message.payload);
      if (payload === null || payload.p === this.sender) return;
      this.listeners.emit({ kind: 'ops', origin: payload.o, seq: payload.s }, this.onError);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SITE_BUS_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = this.options.minBackoffMs ?? 100;
  }

  private dropped(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connect().then(
        () => {
          // Whatever was committed while nobody listened went unheard: refresh everything.
          if (!this.closed) this.listeners.emit({ kind: 'resync' }, this.onError);
        },
        (error: unknown) => {
          this.onError(error);
          this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 5000);
          this.reconnectLater();
        },
      );
    }, this.backoffMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * The bus between the stores of one process (SQLite: a site is one process). `announce` hands
 * the message to the other members once the transaction's work is done: SQLite has no commit
 * hook, so a rolled-back transaction's message is delivered too; it is a hint, and costs the
 * listener one refresh that finds nothing new.
 */
export class LocalSiteHub {
  private readonly members = new Set<LocalSiteBus>();

  join(): LocalSiteBus {
    const bus = new LocalSiteBus(this.members);
    this.members.add(bus);
    return bus;
  }
}

export class LocalSiteBus implements SiteBus {
  private readonly listeners = new Listeners();

  constructor(private readonly members: Set<LocalSiteBus>) {}

  announce(_trx: Transaction<Schema>, commit: SiteCommit): Promise<void> {
    setImmediate(() => {
      for (const member of this.members) {
        if (member !== this) member.deliver({ kind: 'ops', ...commit });
      }
    });
    return Promise.resolve();
  }

  subscribe(listener: (message: SiteBusMessage) => void): () => void {
    return this.listeners.add(listener);
  }

  private deliver(message: SiteBusMessage): void {
    this.listeners.emit(message, () => undefined);
  }

  close(): Promise<void> {
    this.members.delete(this);
    return Promise.resolve();
  }
}
