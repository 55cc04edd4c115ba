/**
 * One peer, seen from this node: its identity once known, whether it answers, what it holds
 * (its version vector), and a single worker that pushes our operations to it and pulls what
 * we lack from it. Work for one peer is strictly serial; different peers run in parallel.
 */
import type { Logger } from 'pino';
import type { Faults } from '../faults/faults.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import { OwnPast } from './own-past.js';
import { PeerError, type PeerClient } from './peer-client.js';
import {
  answered,
  LocalFailure,
  local,
  REFUSAL_HINTS,
  refusalOf,
  type Refusal,
} from './peer-failures.js';
import { PeerRow } from './peer-row.js';
import type { PeerRepository, PeerSource } from './peer.repository.js';
import type { VersionVector } from './version-vector.js';

export type LinkState = 'unknown' | 'up' | 'down';

const PUSH_BATCH = 500;
const PULL_BATCH = 1000;

export interface LinkContext {
  readonly selfId: string;
  readonly oplog: OpLogRepository;
  readonly changes: ChangeLog;
  readonly peers: PeerRepository;
  readonly faults: Faults;
  readonly log: Logger;
  /** Called after a hello told us who the peer is; returns false if the link is redundant. */
  readonly identified: (link: PeerLink) => boolean;
  /** Called when the peer comes up after being down or unknown (time to fetch missing bytes). */
  readonly cameUp: (link: PeerLink) => void;
  /** The longest wait between two attempts to reach a peer that does not answer. */
  readonly maxRetryMs: number;
  /** This node's name (`--name`): a peer with the same one is said once, at first contact. */
  readonly selfName?: string;
}

/** The first retry after a failed contact; each next one waits twice as long, up to maxRetryMs. */
export const FIRST_RETRY_MS = 100;

/**
 * How long a peer that refused this node's signature (401: another cluster key, or clocks too
 * far apart) is left alone: a setting to fix, not a blip, and each try is a warning in its log.
 * A valid request from it (`heardFrom`) ends the wait at once.
 */
export const REFUSED_RETRY_MS = 30_000;

export class PeerLink {
  nodeId: string | null = null;
  name: string | null = null;
  state: LinkState = 'unknown';
  lastSeen: number | null = null;
  lastError: string | null = null;
  theirVv: VersionVector = {};
  theirPendingBytes = 0;
  closed = false;

  private running: Promise<void> | null = null;
  /** Until when the peer is left alone after refusing our signature (REFUSED_RETRY_MS). */
  private refusedUntil = 0;
  /** Why the peer refused our last request (401), said once until it changes or the peer is up. */
  private refusal: Refusal | null = null;
  private wantPush = false;
  private wantPull = false;
  private wantHello = true;
  /**
   * Failed exchanges in a row, for the retry back-off: reset only when a whole exchange went
   * through. A peer that answers its hello while the exchange fails after it (this node's disk
   * is full, the peer refuses what it is sent) is retried less and less often too; reset at
   * each hello, it was retried every FIRST_RETRY_MS, fetching and parsing the same operations
   * each time (half a core, for as long as the disk stayed full).
   */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The peer's row in the peers table, written now and then (peer-row.ts). */
  private readonly row: PeerRow;
  /** Our own operations this peer holds and our log lacks (own-past.ts). */
  private readonly ownPast: OwnPast;
  /** Our lost past is being taken back from this peer: its pictures' bytes to fetch after. */
  private ownPastPulled = false;
  private helloTried: () => void = () => undefined;
  /**
   * Settles once the first hello has been answered (our lost past, if the peer shows one, then
   * known: `OwnPast`) or has failed. A node holds its own changes at start until then (node.ts).
   */
  readonly firstHello = new Promise<void>((resolve) => {
    this.helloTried = resolve;
  });

  constructor(
    readonly url: string,
    readonly source: PeerSource,
    readonly client: PeerClient,
    private readonly ctx: LinkContext,
  ) {
    this.ownPast = new OwnPast(ctx.changes, ctx.log);
    this.row = new PeerRow(ctx.peers, ctx.log, () => ({
      nodeId: this.nodeId,
      name: this.name,
      lastSeen: this.lastSeen,
      ackedSeq: this.theirVv[ctx.selfId] ?? 0,
    }));
  }

  /** Asks the worker to push, pull (and say hello first if needed); coalesces requests. */
  kick(work: { push?: boolean; pull?: boolean; hello?: boolean }): void {
    if (this.closed || Date.now() < this.refusedUntil) return;
    this.wantPush ||= work.push === true;
    this.wantPull ||= work.pull === true;
    this.wantHello ||= work.hello === true;
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
  }

  /** The peer reached us with a valid signature: what made it refuse ours may be fixed. */
  heardFrom(): void {
    this.refusedUntil = 0;
    this.kick({ hello: true });
  }

  /** Waits for the current work to finish, then writes what is not written yet (shutdown). */
  async idle(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.running;
    await this.row.flush();
  }

  private async run(): Promise<void> {
    try {
      while (!this.closed && (this.wantHello || this.wantPush || this.wantPull)) {
        if (this.wantHello || this.state !== 'up') {
          this.wantHello = false;
          await this.hello();
          if (this.isClosed()) return; // hello() closes a redundant link
        }
        if (this.wantPull) {
          this.wantPull = false;
          await this.pull();
          if (this.ownPastPulled) {
            // The pictures and files of our past just taken back want their bytes.
            this.ownPastPulled = false;
            this.ctx.cameUp(this);
          }
        }
        if (this.wantPush) {
          this.wantPush = false;
          await this.push();
        }
      }
      this.failures = 0;
      this.lastError = null;
    } catch (error) {
      if (error instanceof LocalFailure) this.markStalled(error.cause, 'here');
      else if (this.state === 'up' && answered(error)) this.markStalled(error, 'peer');
      else this.markDown(error);
    }
  }

  private async hello(): Promise<void> {
    try {
      await this.sayHello();
    } finally {
      this.helloTried();
    }
  }

  private async sayHello(): Promise<void> {
    this.assertNotBlocked();
    const info = await this.client.hello();
    const firstContact = this.nodeId === null;
    this.nodeId = info.nodeId;
    this.name = info.name;
    this.theirVv = info.vv;
    this.theirPendingBytes = info.pendingBlobBytes;
    this.assertNotBlocked();
    if (firstContact && !this.ctx.identified(this)) {
      this.closed = true;
      return;
    }
    if (firstContact && info.name === this.ctx.selfName) {
      // Origins, logs and conflict copies name nodes by name: two alike cannot be told apart.
      this.ctx.log.warn(
        { peer: this.url, name: info.name },
        'peer has the same name as this node: give each node its own --name',
      );
    }
    const wasUp = this.state === 'up';
    this.markUp();
    if (await this.ownPast.seenAt(info.vv[this.ctx.selfId] ?? 0, this)) {
      this.wantPull = true;
      this.ownPastPulled = true;
    }
    await this.row.identify(info.nodeId, info.name, this.url, this.source);
    if (!wasUp) {
      this.ctx.log.info({ peer: info.name, url: this.url }, 'peer up');
      // On (re)connect: catch up both ways.
      this.wantPull = true;
      this.wantPush = true;
      this.ctx.cameUp(this);
    }
  }

  /** Sends our own operations the peer lacks, in order, in batches. */
  private async push(): Promise<void> {
    const { oplog, selfId } = this.ctx;
    for (;;) {
      this.assertNotBlocked();
      const from = this.theirVv[selfId] ?? 0;
      const ops = await local(oplog.range(selfId, from, PUSH_BATCH));
      if (ops.length === 0) return;
      const res = await this.client.push(ops);
      this.theirVv = res.vv;
      const last = ops[ops.length - 1];
      if (last && (this.theirVv[selfId] ?? 0) < last.seq) {
        // The peer could not take them in order (it lacks earlier ones?): let the next hello
        // refresh its vector rather than loop.
        this.theirVv = { ...this.theirVv, [selfId]: last.seq };
      }
      this.markUp();
    }
  }

  /** Anti-entropy: fetches every operation (of any origin) the peer has and we lack. */
  private async pull(): Promise<void> {
    const { oplog, changes } = this.ctx;
    let after = null;
    do {
      this.assertNotBlocked();
      const res = await this.client.pull(await local(oplog.versionVector()), after, PULL_BATCH);
      if (res.ops.length > 0) await local(changes.receive(res.ops));
      after = res.next;
      this.markUp();
    } while (after !== null);
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private assertNotBlocked(): void {
    if (this.ctx.faults.isBlocked(this.nodeId, this.name)) {
      throw new PeerError('link cut by MOSAIC_FAULTS', null);
    }
  }

  private markUp(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.lastSeen = Date.now();
    this.refusal = null;
    if (this.state !== 'up') {
      this.state = 'up';
      this.lastError = null;
    }
    this.row.seenAt(this.lastSeen);
  }

  private markDown(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const refusal = refusalOf(error);
    if (refusal !== null && refusal !== this.refusal) {
      this.ctx.log.warn(
        { peer: this.name ?? this.url, err: message, hint: REFUSAL_HINTS[refusal] },
        refusal === 'key'
          ? `peer refuses this node's signature; trying again every ${REFUSED_RETRY_MS / 1000} s`
          : "peer refuses this node's requests",
      );
    }
    this.refusal = refusal;
    // Another key is a setting to fix: tried again rarely. Clocks apart are set right by NTP.
    const refused = refusal === 'key';
    // A peer that was up and went away is news; one not reached yet (nodes of a cluster start
    // one after another) is not worth a warning.
    if (this.state === 'up') {
      this.ctx.log.warn({ peer: this.name ?? this.url, err: message }, 'peer down');
      // What was sent to it before it went is given up, not left waiting for an answer. Only
      // now: a peer that is down stays a fallback source (Replicator.candidates), whose
      // requests must not be cut at each retry's failed hello.
      this.client.abortAll('peer down');
    } else if (this.state === 'unknown' && refusal === null) {
      this.ctx.log.info({ peer: this.url, err: message }, 'peer not reachable yet');
    }
    this.state = 'down';
    this.lastError = message;
    if (refused) this.refusedUntil = Date.now() + REFUSED_RETRY_MS;
    this.scheduleRetry(refused ? REFUSED_RETRY_MS : undefined);
  }

  /**
   * The peer answers, and the exchange failed all the same: on this node's side (its store: a
   * full disk, say), or on the peer's, which answered with an HTTP error (507 when its disk is
   * full, a 500). The peer stays up: marked down, it came "up" again at each retry's hello,
   * which started a catch-up of every picture's missing bytes each time (`cameUp`) and logged
   * the peer down and up about once a second. The exchange is retried with the back-off; the
   * error is shown as the link's until an exchange goes through.
   */
  private markStalled(error: unknown, side: 'here' | 'peer'): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.lastError !== message) {
      this.ctx.log.warn(
        { peer: this.name ?? this.url, err: message },
        side === 'here'
          ? 'exchange with peer failed on this node; will retry'
          : 'exchange with peer failed on the peer; will retry',
      );
    }
    this.lastError = message;
    this.scheduleRetry();
  }

  /**
   * Tries again soon rather than at the next periodic cycle: 100 ms, then twice as long each
   * time up to maxRetryMs, so a peer that starts (or comes back) is noticed within about that.
   */
  private scheduleRetry(after?: number): void {
    if (this.closed || this.retryTimer !== null) return;
    const delay = after ?? Math.min(this.ctx.maxRetryMs, FIRST_RETRY_MS * 2 ** this.failures);
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.refusedUntil = 0;
      this.kick({ hello: true, pull: true, push: true });
    }, delay);
    this.retryTimer.unref();
  }
}
