/**
 * The coordinator side of 2PC at one site. The order of durable steps is the protocol:
 *
 *   1. log the transaction `preparing`            (crash point coordinator.after-log-prepare)
 *   2. ask every site to prepare, until the votes decide (core/two-phase.ts)
 *                                                  (crash point coordinator.after-votes)
 *   3. in ONE store transaction: log the decision, apply it at this site, and put the decision
 *      for every other site in the outbox          (crash point coordinator.after-log-decision)
 *   4. send those messages now; the outbox retries the rest until acknowledged
 *                                                  (crash point coordinator.after-send-decision-some)
 *
 * On restart, `recover` follows through: a logged decision is still in the outbox; a photo
 * transaction still `preparing` is aborted (presumed abort: nobody can have committed it); a
 * create or outcome transaction still `preparing` is prepared again (they never abort).
 * Recovery is the site's background work: it runs on the leader process, at start or when it
 * becomes leader, then every few seconds for what another process of the site began and left
 * unchanged a while (it died), and skips what this process is driving itself. Where another process of the
 * site still drives the same transaction, the first decision logged wins (`decide` locks the
 * entry and leaves a decided one alone), so both processes carry out the same decision.
 */
import { coordinatorRecovery, coordinatorStep } from './core/two-phase.js';
import type { Decision, PrepareVote, Site, TxBody } from './core/types.js';
import { backoff, sleep, type EventContext } from './event.context.js';
import { buffer } from 'node:stream/consumers';
import { INLINE_PHOTO_MAX, PATHS, PrepareVoteSchema } from './event-messages.js';
import type { PrepareRequest, TxParticipant } from './two-phase.participant.js';

export interface TxResult {
  readonly decision: Decision;
  /** The no's heard, by site name (why a photo did not commit). */
  readonly refusals: readonly { site: string; reason: string }[];
}

/** How long a photo transaction waits for votes before it aborts. */
export const PHOTO_PREPARE_TIMEOUT_MS = 4_000;

/** Told of every transaction this site coordinated, once decided here (for metrics). */
export type DecidedListener = (kind: TxBody['kind'], decision: Decision, ms: number) => void;

/** Where a transaction being prepared stands at each site (what the page shows while it waits). */
export interface SiteProgress {
  readonly site: Site;
  /** 'ready': this site voted yes; 'waiting': no answer (or a temporary no) yet. */
  readonly state: 'ready' | 'waiting';
  /** Since when (ms): the yes, or the first prepare sent to it. */
  readonly since: number;
}

export class TxCoordinator {
  private stopped = false;
  /** Transactions this process is driving now (recovery leaves them alone). */
  private readonly driving = new Set<string>();
  private readonly decidedListeners: DecidedListener[] = [];
  /**
   * Transactions this site is preparing now, by event and kind (`progressKey`): each site's
   * answer. A new invite may be prepared while another kind is (it conflicts with none).
   */
  private readonly preparing = new Map<
    string,
    { kind: TxBody['kind']; started: number; yes: Map<string, number>; sites: readonly Site[] }
  >();

  /** Each site's answer so far to the open transaction of `kind` for this event, if any. */
  progress(eventId: string, kind: TxBody['kind']): SiteProgress[] | null {
    const open = this.preparing.get(progressKey(eventId, kind));
    if (open === undefined) return null;
    return open.sites.map((site) => {
      const at = open.yes.get(site.id);
      return at === undefined
        ? { site, state: 'waiting', since: open.started }
        : { site, state: 'ready', since: at };
    });
  }

  onDecided(listener: DecidedListener): void {
    this.decidedListeners.push(listener);
  }

  constructor(
    private readonly ctx: EventContext,
    private readonly participant: TxParticipant,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  /** Runs a new transaction to its decision (null: the node is closing). */
  async run(
    txId: string,
    eventId: string,
    body: TxBody,
    sites: readonly Site[],
  ): Promise<TxResult | null> {
    const { store, repo, txLog, faults, photos } = this.ctx;
    const self = this.ctx.self();
    // This site is a participant too: it prepares in the same store commit (one fsync, which
    // blocks the event loop, instead of two), when it holds what it needs (a photo's bytes).
    const here = body.kind !== 'photo' || (await photos.has(body.photo.hash));
    const entry = { id: txId, eventId, coordinator: self, body };
    this.driving.add(txId);
    try {
      const begun = await store.transaction(async (trx) => {
        await repo.lockEvent(trx, eventId); // the event's row first, as everywhere
        if (!(await txLog.begin(trx, entry, this.ctx.now()))) return false;
        if (here)
          await this.participant.prepareInTx(trx, { txId, eventId, coordinator: self, body });
        return true;
      });
      if (!begun) return null; // begun already (a round's outcome has a fixed id)
      faults.crashPoint('coordinator.after-log-prepare');
      return await this.drive(txId, eventId, body, sites);
    } finally {
      this.driving.delete(txId);
    }
  }

  /**
   * Follows through with every transaction this site coordinated and left open (at start, or
   * when this process becomes the site's leader), except those this process drives now; with
   * `unchangedSince`, only those not changed since then (left by a process that died).
   */
  async recover(
    sitesOf: (eventId: string) => Promise<readonly Site[]>,
    unchangedSince?: number,
  ): Promise<void> {
    const { store, txLog } = this.ctx;
    for (const tx of await txLog.openCoordinatorTxs(store.db)) {
      if (this.driving.has(tx.id)) continue;
      if (unchangedSince !== undefined && tx.updatedAt >= unchangedSince) continue;
      const sites = await sitesOf(tx.eventId);
      const action = coordinatorRecovery(tx.kind, tx.state);
      this.ctx.log.info({ txId: tx.id, kind: tx.kind, action }, 'recovering an event transaction');
      const follow = async (): Promise<void> => {
        this.driving.add(tx.id);
        try {
          if (action === 'presume-abort') {
            await this.decide(tx.id, tx.eventId, tx.body, 'abort', sites);
          } else if (action === 'reprepare') {
            await this.drive(tx.id, tx.eventId, tx.body, sites);
          }
        } finally {
          this.driving.delete(tx.id);
        }
      };
      follow().catch((err: unknown) => {
        this.ctx.log.error({ err }, 'recovery failed');
      });
    }
  }

  private async drive(
    txId: string,
    eventId: string,
    body: TxBody,
    sites: readonly Site[],
  ): Promise<TxResult | null> {
    const votes = new Map<string, PrepareVote>();
    const started = this.ctx.now();
    const request = {
      txId,
      eventId,
      coordinator: this.ctx.self(),
      body,
      bytes: await this.inlineBytes(body),
    };
    const open = { kind: body.kind, started, yes: new Map<string, number>(), sites };
    const key = progressKey(eventId, body.kind);
    this.preparing.set(key, open);
    try {
      return await this.prepareAll(txId, eventId, body, sites, votes, request, open.yes);
    } finally {
      if (this.preparing.get(key) === open) this.preparing.delete(key);
    }
  }

  private async prepareAll(
    txId: string,
    eventId: string,
    body: TxBody,
    sites: readonly Site[],
    votes: Map<string, PrepareVote>,
    request: PrepareRequest,
    yes: Map<string, number>,
  ): Promise<TxResult | null> {
    const started = this.ctx.now();
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) return null;
      await Promise.all(
        sites
          .filter((s) => votes.get(s.id)?.vote !== 'yes')
          .map(async (site) => {
            try {
              const vote = await this.prepareAt(site, request);
              votes.set(site.id, vote);
              if (vote.vote === 'yes') yes.set(site.id, this.ctx.now());
            } catch {
              votes.delete(site.id); // no answer (yet): ask again
            }
          }),
      );
      const timedOut = this.ctx.now() - started > PHOTO_PREPARE_TIMEOUT_MS;
      const step = coordinatorStep(
        body.kind,
        sites.map((s) => s.id),
        votes,
        timedOut,
      );
      if (step === 'commit' || step === 'abort') {
        this.ctx.faults.crashPoint('coordinator.after-votes');
        const refusals = sites.flatMap((s) => {
          const v = votes.get(s.id);
          if (v === undefined) return [{ site: s.name, reason: 'no answer' }];
          return v.vote === 'no' ? [{ site: s.name, reason: v.reason }] : [];
        });
        const voted = performance.now();
        const decision = await this.decide(txId, eventId, body, step, sites);
        const ms = this.ctx.now() - started;
        this.ctx.log.debug(
          {
            txId,
            kind: body.kind,
            prepareMs: Math.round(voted - t0),
            decideMs: Math.round(performance.now() - voted),
          },
          '2PC steps',
        );
        for (const listener of this.decidedListeners) listener(body.kind, decision, ms);
        return { decision, refusals };
      }
      if (step === 'reprepare') {
        for (const [site, v] of votes) if (v.vote === 'no') votes.delete(site);
      }
      await sleep(backoff(attempt));
    }
  }

  private async decide(
    txId: string,
    eventId: string,
    body: TxBody,
    decision: Decision,
    sites: readonly Site[],
  ): Promise<Decision> {
    const { store, repo, txLog, outbox, faults, sender } = this.ctx;
    const self = this.ctx.self();
    const t0 = performance.now();
    const outcome = await store.transaction(async (trx) => {
      await repo.lockEvent(trx, eventId);
      const entry = await txLog.coordinatorTx(trx, txId, true);
      // Decided already (by another process of this site): that decision stands.
      if (entry !== null && entry.state !== 'preparing') {
        const decided: Decision = entry.state === 'committed' ? 'commit' : 'abort';
        return { already: true, decided, ids: [], committed: false };
      }
      const state = decision === 'commit' ? 'committed' : 'aborted';
      await txLog.log(
        trx,
        'coordinator',
        { id: txId, eventId, coordinator: self, body },
        state,
        this.ctx.now(),
      );
      const applied = await this.participant.decideInTx(trx, txId, eventId, decision);
      const message = { txId, eventId, decision };
      const queued: number[] = [];
      for (const site of sites) {
        if (site.id === self.id) continue;
        queued.push(await outbox.enqueue(trx, site, PATHS.decision, message, this.ctx.now()));
      }
      return { already: false, decided: decision, ids: queued, committed: applied };
    });
    if (outcome.already) return outcome.decided; // its decider sends it
    const { ids, committed } = outcome;
    faults.crashPoint('coordinator.after-log-decision');
    if (committed) this.ctx.onCommitted(eventId, body);
    const logged = performance.now();
    // All at once; one first, then the rest, only when a test crashes between them.
    const oneFirst = faults.spec().crashAt.includes('coordinator.after-send-decision-some');
    await sender.deliverNow(
      ids,
      (delivered) => {
        if (delivered < ids.length) faults.crashPoint('coordinator.after-send-decision-some');
      },
      oneFirst,
    );
    this.ctx.log.debug(
      { txId, logMs: Math.round(logged - t0), deliverMs: Math.round(performance.now() - logged) },
      '2PC decision steps',
    );
    return decision;
  }

  /**
   * A small photo's bytes, to send with the prepare: each site then writes them at once instead
   * of asking for them in a second request (docs/benchmarks.md). Read once per transaction.
   */
  private async inlineBytes(body: TxBody): Promise<string | undefined> {
    if (body.kind !== 'photo' || body.photo.size > INLINE_PHOTO_MAX) return undefined;
    try {
      return (await buffer(await this.ctx.photos.read(body.photo.hash))).toString('base64');
    } catch {
      return undefined; // not here (cannot happen for a photo staged here): sites fetch it
    }
  }

  private async prepareAt(site: Site, request: PrepareRequest): Promise<PrepareVote> {
    if (site.id === this.ctx.self().id) {
      // The bytes are already here.
      return this.participant.prepare({ ...request, bytes: undefined });
    }
    return this.ctx.sender.post(site, PATHS.prepare, request, PrepareVoteSchema, 5_000);
  }
}

const progressKey = (eventId: string, kind: TxBody['kind']): string => `${kind}:${eventId}`;
