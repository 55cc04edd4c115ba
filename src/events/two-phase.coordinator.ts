/**
 * The coordinator side of 2PC at one site. The order of durable steps is the protocol:
 *
 *   1. log the transaction `preparing`            (crash point coordinator.after-log-prepare)
 *   2. ask every site to prepare, until the votes decide (core/two-phase.ts)
 *                                                  (crash point coordinator.after-votes)
 *   3. in ONE SQLite transaction: log the decision, apply it at this site, and put the decision
 *      for every other site in the outbox          (crash point coordinator.after-log-decision)
 *   4. send those messages now; the outbox retries the rest until acknowledged
 *                                                  (crash point coordinator.after-send-decision-some)
 *
 * On restart, `recover` follows through: a logged decision is still in the outbox; a photo
 * transaction still `preparing` is aborted (presumed abort: nobody can have committed it); a
 * create or outcome transaction still `preparing` is prepared again (they never abort).
 */
import { coordinatorRecovery, coordinatorStep } from './core/two-phase.js';
import type { Decision, PrepareVote, Site, TxBody } from './core/types.js';
import { backoff, sleep, type EventContext } from './event.context.js';
import { PATHS, PrepareVoteSchema } from './event-messages.js';
import type { TxParticipant } from './two-phase.participant.js';

export interface TxResult {
  readonly decision: Decision;
  /** The no's heard, by site name (why a photo did not commit). */
  readonly refusals: readonly { site: string; reason: string }[];
}

/** How long a photo transaction waits for votes before it aborts. */
export const PHOTO_PREPARE_TIMEOUT_MS = 4_000;

/** Told of every transaction this site coordinated, once decided here (for metrics). */
export type DecidedListener = (kind: TxBody['kind'], decision: Decision, ms: number) => void;

export class TxCoordinator {
  private stopped = false;
  private readonly decidedListeners: DecidedListener[] = [];

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
    const { repo, faults } = this.ctx;
    repo.logTx('coordinator', txId, eventId, this.ctx.self(), body, 'preparing', this.ctx.now());
    faults.crashPoint('coordinator.after-log-prepare');
    return this.drive(txId, eventId, body, sites);
  }

  /** At start: follow through with every transaction this site coordinated and left open. */
  recover(sitesOf: (eventId: string) => readonly Site[]): void {
    for (const tx of this.ctx.repo.openCoordinatorTxs()) {
      const sites = sitesOf(tx.eventId);
      const action = coordinatorRecovery(tx.kind, tx.state);
      this.ctx.log.info({ txId: tx.id, kind: tx.kind, action }, 'recovering an event transaction');
      if (action === 'presume-abort') {
        void this.decide(tx.id, tx.eventId, tx.body, 'abort', sites).catch((err: unknown) => {
          this.ctx.log.error({ err }, 'recovery failed');
        });
      } else if (action === 'reprepare') {
        void this.drive(tx.id, tx.eventId, tx.body, sites).catch((err: unknown) => {
          this.ctx.log.error({ err }, 'recovery failed');
        });
      }
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
    const request = { txId, eventId, coordinator: this.ctx.self(), body };
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) return null;
      await Promise.all(
        sites
          .filter((s) => votes.get(s.id)?.vote !== 'yes')
          .map(async (site) => {
            try {
              votes.set(site.id, await this.prepareAt(site, request));
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
        await this.decide(txId, eventId, body, step, sites);
        const ms = this.ctx.now() - started;
        for (const listener of this.decidedListeners) listener(body.kind, step, ms);
        return { decision: step, refusals };
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
  ): Promise<void> {
    const { repo, faults, sender } = this.ctx;
    const self = this.ctx.self();
    const { ids, committed } = repo.transaction(() => {
      repo.logTx(
        'coordinator',
        txId,
        eventId,
        self,
        body,
        decision === 'commit' ? 'committed' : 'aborted',
        this.ctx.now(),
      );
      const applied = this.participant.decideInTx(txId, eventId, decision);
      const message = { txId, eventId, decision };
      const queued = sites
        .filter((s) => s.id !== self.id)
        .map((s) => repo.enqueue(s, PATHS.decision, message, this.ctx.now()));
      return { ids: queued, committed: applied };
    });
    faults.crashPoint('coordinator.after-log-decision');
    if (committed) this.ctx.onCommitted(eventId, body);
    await sender.deliverNow(ids, (delivered) => {
      if (delivered < ids.length) faults.crashPoint('coordinator.after-send-decision-some');
    });
  }

  private async prepareAt(
    site: Site,
    request: { txId: string; eventId: string; coordinator: Site; body: TxBody },
  ): Promise<PrepareVote> {
    if (site.id === this.ctx.self().id) return this.participant.prepare(request);
    return this.ctx.sender.post(site, PATHS.prepare, request, PrepareVoteSchema, 5_000);
  }
}
