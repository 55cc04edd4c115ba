/**
 * Signed requests to the other sites of an event, and the outbox: every message that must
 * arrive (decisions, voting notices, vote reports, joins) is written to `event_outbox` in the
 * same store transaction as the state change that causes it, then sent, and retried with
 * exponential back-off (100 ms .. 5 s) until the receiver answers 200. Receivers are
 * idempotent, so a message delivered twice does no harm.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { type Agent, request } from '../http/undici-client.js';
import { z } from 'zod';
import type { Faults } from '../faults/faults.js';
import { signRequest } from '../replication/peer-auth.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { Site } from './core/types.js';
import type { OutboxRepository, OutboxRow } from './outbox.repository.js';

export class SendError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

export interface SenderDeps {
  readonly key: string | null;
  readonly self: () => Site;
  readonly agent: Agent;
  readonly faults: Faults;
  readonly store: MetadataStore;
  readonly outbox: OutboxRepository;
  readonly log: Logger;
  readonly now?: () => number;
  /** Whether this process runs the background loop (one process per site); default yes. */
  readonly isLeader?: () => boolean;
}

const AnyJson = z.unknown();
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** How often the outbox is looked at while messages wait in it (and for a while after). */
const TICK_MS = 100;
/** How often once it has been empty for IDLE_AFTER looks in a row: an idle site's cost. */
const IDLE_TICK_MS = 1_000;
const IDLE_AFTER = 10;

export class EventSender {
  private timer: NodeJS.Timeout | null = null;
  /** Looks in a row that found nothing due (reset by anything waiting or failing). */
  private quiet = 0;
  private running = false;
  private stopped = false;
  private readonly inFlight = new Set<number>();

  constructor(private readonly deps: SenderDeps) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** The next look at the outbox: every 100 ms while busy, every second once idle. */
  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        void this.drain().finally(() => {
          this.schedule();
        });
      },
      this.quiet >= IDLE_AFTER ? IDLE_TICK_MS : TICK_MS,
    );
  }

  /** One JSON request, validated answer; throws SendError on anything but 200. */
  async post<T extends z.ZodType>(
    site: Site,
    path: string,
    payload: unknown,
    schema: T,
    timeoutMs = 5_000,
  ): Promise<z.infer<T>> {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const headers = await this.sign(site, 'POST', path, body);
    headers['content-type'] = 'application/json';
    const res = await this.send(site, 'POST', path, headers, body, timeoutMs);
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new SendError(
        `${path} at ${site.name}: ${res.statusCode} ${text.slice(0, 200)}`,
        res.statusCode,
      );
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new SendError(`${path} at ${site.name}: malformed answer`, 200);
    return parsed.data;
  }

  /** A signed GET of bytes (a photo by hash); null on 404. */
  async getStream(site: Site, path: string): Promise<Readable | null> {
    const headers = await this.sign(site, 'GET', path, '');
    const res = await this.send(site, 'GET', path, headers, undefined, 60_000);
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new SendError(`GET ${path} at ${site.name}: ${res.statusCode}`, res.statusCode);
    }
    return res.body;
  }

  /**
   * Sends these outbox rows now, all together, or with `oneFirst` the first alone and then the
   * others (so that a crash after the first acknowledgement leaves the rest undelivered — the
   * crash tests rely on it). `onAck` runs after each acknowledged one. Rows that fail stay for
   * the background loop.
   */
  async deliverNow(
    ids: readonly number[],
    onAck?: (delivered: number) => void,
    oneFirst = true,
  ): Promise<void> {
    let delivered = 0;
    const one = async (id: number) => {
      let row: OutboxRow | null;
      try {
        row = await this.deps.outbox.row(this.deps.store.db, id);
      } catch (err) {
        this.deps.log.warn({ err }, 'event outbox: could not read a message'); // the loop retries
        return;
      }
      if (row !== null && (await this.deliver(row))) {
        delivered++;
        onAck?.(delivered);
      }
    };
    if (!oneFirst) {
      await Promise.all(ids.map(one));
      return;
    }
    const [first, ...rest] = ids;
    if (first === undefined) return;
    await one(first);
    await Promise.all(rest.map(one));
  }

  /**
   * Sends every due outbox message once: the background loop, on the site's leader process
   * only (a process that is not skips it; what it enqueued, it sent at once with deliverNow).
   */
  async drain(): Promise<void> {
    if (this.running || this.stopped || !(this.deps.isLeader?.() ?? true)) return;
    this.running = true;
    try {
      const now = this.now();
      const rows = await this.deps.outbox.due(this.deps.store.db, now);
      this.quiet = rows.length > 0 ? 0 : this.quiet + 1;
      await Promise.all(rows.map((row) => this.deliver(row)));
    } catch (error) {
      this.deps.log.warn({ err: error }, 'event outbox drain failed');
    } finally {
      this.running = false;
    }
  }

  private async deliver(row: OutboxRow): Promise<boolean> {
    if (this.inFlight.has(row.id) || this.stopped) return false;
    this.inFlight.add(row.id);
    try {
      await this.post(row.site, row.path, row.body, AnyJson);
      await this.deps.outbox.acked(row.id);
      return true;
    } catch (error) {
      // Retried by the loop: look every 100 ms again until the outbox is quiet.
      this.quiet = 0;
      const backoff = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(row.attempts, 6));
      // The database closes after stop(): an answer arriving later is left for the next start.
      if (!this.isStopped()) {
        await this.deps.outbox.retryLater(row.id, this.now() + backoff).catch((err: unknown) => {
          this.deps.log.warn({ err }, 'event outbox: could not reschedule a message');
        });
      }
      if (row.attempts % 10 === 3) {
        this.deps.log.info(
          {
            site: row.site.name,
            path: row.path,
            attempts: row.attempts + 1,
            err: (error as Error).message,
          },
          'event message not acknowledged yet; retrying',
        );
      }
      return false;
    } finally {
      this.inFlight.delete(row.id);
    }
  }

  private async sign(
    site: Site,
    method: string,
    path: string,
    body: string,
  ): Promise<Record<string, string>> {
    const { key, faults, self } = this.deps;
    if (key === null) throw new SendError('no cluster key: cannot talk to other sites', null);
    const me = self();
    if (faults.isBlocked(site.id, site.name)) {
      throw new SendError(`${path} to ${site.name}: link cut (MOSAIC_FAULTS)`, null);
    }
    if (!(await faults.beforePeerSend())) {
      throw new SendError(`${path} to ${site.name}: dropped (MOSAIC_FAULTS)`, null);
    }
    // Signed for this site's node only: a captured message cannot be replayed to another site.
    return signRequest(key, { method, path, nodeId: me.id, url: me.url, to: site.id, body });
  }

  private async send(
    site: Site,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ) {
    try {
      return await request(new URL(path, site.url), {
        method,
        headers,
        body: body ?? null,
        dispatcher: this.deps.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw new SendError(`${method} ${site.url}${path}: ${(error as Error).message}`, null);
    }
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
