/**
 * The participant side of 2PC at one site: prepare (judge, fetch the photo bytes, log
 * `prepared`, answer), decisions (log and apply once, acknowledge duplicates), and the
 * in-doubt loop (a transaction prepared for a while with no decision: ask its coordinator).
 */
import {
  applyOutcome,
  applyPhoto,
  applyRemoval,
  changePrepareVote,
  COLLECTING,
  outcomePrepareVote,
  photoPrepareVote,
} from './core/event-phase.js';
import { invitePrepareVote } from './core/invite.js';
import {
  participantOnDecision,
  participantOnPrepare,
  type ParticipantState,
} from './core/two-phase.js';
import type { Decision, PrepareVote, Site, TxBody } from './core/types.js';
import { Readable } from 'node:stream';
import type { EventContext } from './event.context.js';
import type { Executor } from '../storage/metadata/dialect.js';
import { organiserOf } from './event.repository.js';
import { PATHS, StatusResponse } from './event-messages.js';

export interface PrepareRequest {
  readonly txId: string;
  readonly eventId: string;
  readonly coordinator: Site;
  readonly body: TxBody;
  /** A small photo's bytes (base64), sent with the prepare to save a round trip. */
  readonly bytes?: string | undefined;
}

const IN_DOUBT_AFTER_MS = 3_000;

/** core's participantOnPrepare, with a judgement that reads the store (asked only if needed). */
async function participantOnPrepareAsync(
  logged: ParticipantState | null,
  evaluate: () => Promise<PrepareVote>,
): Promise<{ vote: PrepareVote; log: boolean }> {
  const judged = logged === null ? await evaluate() : null;
  return participantOnPrepare(logged, () => {
    if (judged === null) throw new Error('a logged prepare is never judged again');
    return judged;
  });
}

export class TxParticipant {
  private timer: NodeJS.Timeout | null = null;
  private asking = false;

  constructor(private readonly ctx: EventContext) {}

  async prepare(req: PrepareRequest): Promise<PrepareVote> {
    const { store, txLog } = this.ctx;
    const logged = (await txLog.participantTx(store.db, req.txId))?.state ?? null;
    if (logged !== null) {
      return (await participantOnPrepareAsync(logged, () => this.evaluate(store.db, req))).vote;
    }
    const first = await this.evaluate(store.db, req);
    if (first.vote === 'no') return first;
    const t0 = performance.now();
    // Every site holds the photo's bytes before it votes yes (verified by SHA-256).
    if (
      req.body.kind === 'photo' &&
      !(await this.fetchPhoto(req.coordinator, req.body.photo, req.bytes))
    ) {
      return { vote: 'no', reason: 'lagging' };
    }
    const t1 = performance.now();
    const result = await store.transaction((trx) => this.prepareInTx(trx, req));
    if (result.log && req.coordinator.id !== this.ctx.self().id) {
      this.ctx.faults.crashPoint('participant.after-log-prepared');
    }
    this.ctx.log.debug(
      {
        txId: req.txId,
        kind: req.body.kind,
        bytesMs: Math.round(t1 - t0),
        logMs: Math.round(performance.now() - t1),
      },
      '2PC prepare steps',
    );
    return result.vote;
  }

  /**
   * Judges a prepare and logs `prepared` when the rules say yes, in the caller's transaction:
   * the participant's own (above), or the coordinator's that logs it `preparing` (the bytes of
   * a photo are then already here; its prepare request, sent a moment later like any site's,
   * is answered from the log). The event's row is locked first: two prepares of one event
   * never both see "nothing else prepared".
   */
  async prepareInTx(
    trx: Executor,
    req: PrepareRequest,
  ): Promise<{ vote: PrepareVote; log: boolean }> {
    const { repo, txLog } = this.ctx;
    await repo.lockEvent(trx, req.eventId);
    const now = (await txLog.participantTx(trx, req.txId, true))?.state ?? null;
    const step = await participantOnPrepareAsync(now, () => this.evaluate(trx, req));
    if (step.log) {
      const entry = {
        id: req.txId,
        eventId: req.eventId,
        coordinator: req.coordinator,
        body: req.body,
      };
      await txLog.log(trx, 'participant', entry, 'prepared', this.ctx.now());
      // A new invite never aborts (core/invite.ts): it takes effect as soon as it is prepared
      // here, so the old link is refused from this moment, not only once the decision comes.
      if (req.body.kind === 'invite') await repo.setInvite(trx, req.eventId, req.body.invite);
    }
    return step;
  }

  /**
   * Logs and applies a decision, in the caller's transaction (the participant's own, or the
   * coordinator's that logs its decision). Returns whether it committed something new. The
   * event's row, then the transaction's, are locked first (always in that order), so a
   * decision delivered twice at once to two processes is applied once.
   */
  async decideInTx(
    trx: Executor,
    txId: string,
    eventId: string,
    decision: Decision,
  ): Promise<boolean> {
    const { repo, txLog } = this.ctx;
    await repo.lockEvent(trx, eventId);
    const logged = await txLog.participantTx(trx, txId, true);
    const action = participantOnDecision(logged?.state ?? null, decision);
    switch (action) {
      case 'duplicate':
        return false;
      case 'violation':
        this.ctx.log.error(
          { txId, decision, logged: logged?.state },
          '2PC protocol violation ignored',
        );
        return false;
      case 'log-abort':
        // Without a prepared entry, a tombstone: a late, reordered prepare of this transaction
        // must be refused, not left prepared (it would block the event until asked about).
        if (logged) await txLog.log(trx, 'participant', logged, 'aborted', this.ctx.now());
        else await txLog.logAbortTombstone(trx, txId, eventId, this.ctx.now());
        return false;
      case 'apply-commit':
        if (!logged) return false;
        await this.apply(trx, logged.eventId, txId, logged.body);
        await txLog.log(trx, 'participant', logged, 'committed', this.ctx.now());
        return true;
    }
  }

  /** A decision from a remote coordinator (the /peer handler and the in-doubt loop). */
  async decide(txId: string, eventId: string, decision: Decision): Promise<void> {
    const { store, txLog } = this.ctx;
    const committed = await store.transaction((trx) =>
      this.decideInTx(trx, txId, eventId, decision),
    );
    if (!committed) return;
    this.ctx.faults.crashPoint('participant.after-log-commit');
    const tx = await txLog.participantTx(store.db, txId);
    if (tx) this.ctx.onCommitted(tx.eventId, tx.body);
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.askInDoubt();
    }, 1_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Prepared, undecided for a while: ask the coordinator (decisions also arrive by outbox).
   * Background work: on the site's leader process only.
   */
  async askInDoubt(): Promise<void> {
    if (this.asking || !this.ctx.isLeader()) return;
    this.asking = true;
    try {
      const self = this.ctx.self();
      const { store, txLog } = this.ctx;
      for (const tx of await txLog.inDoubt(store.db, this.ctx.now() - IN_DOUBT_AFTER_MS)) {
        if (tx.coordinator.id === self.id) continue; // our own coordinator's recovery decides
        try {
          const { state } = await this.ctx.sender.post(
            tx.coordinator,
            PATHS.status,
            { txId: tx.id },
            StatusResponse,
            3_000,
          );
          if (state === 'committed') await this.decide(tx.id, tx.eventId, 'commit');
          else if (state === 'aborted') await this.decide(tx.id, tx.eventId, 'abort');
          // 'unknown' cannot happen (a coordinator logs before preparing): keep waiting.
        } catch {
          // The coordinator is unreachable: wait, it resends its decision when back.
        }
      }
    } catch (err) {
      this.ctx.log.warn({ err }, 'in-doubt check failed');
    } finally {
      this.asking = false;
    }
  }

  private async evaluate(db: Executor, req: PrepareRequest): Promise<PrepareVote> {
    const { repo, txLog } = this.ctx;
    const event = await repo.getEvent(db, req.eventId);
    const holds = await txLog.holdsPrepared(db, req.eventId, req.txId);
    switch (req.body.kind) {
      case 'create':
        return { vote: 'yes' };
      case 'photo':
        return photoPrepareVote(event?.state ?? null, req.body.photo, holds);
      case 'outcome':
        return outcomePrepareVote(event?.state ?? null, req.body.outcome, holds);
      case 'remove':
        return changePrepareVote(event?.state ?? null, req.body.removal, holds);
      case 'delete':
        return changePrepareVote(event?.state ?? null, null, holds);
      case 'invite':
        return invitePrepareVote(event?.state ?? null);
    }
  }

  private async apply(trx: Executor, eventId: string, txId: string, body: TxBody): Promise<void> {
    const { repo } = this.ctx;
    switch (body.kind) {
      case 'create': {
        const existing = await repo.getEvent(trx, eventId);
        if (existing === null) await repo.insertEvent(trx, body.event, COLLECTING);
        else if (existing.state.phase === 'creating') await repo.setState(trx, eventId, COLLECTING);
        const organiser = organiserOf(body.event);
        if (organiser) await repo.insertParticipant(trx, eventId, organiser);
        return;
      }
      case 'photo': {
        const p = body.photo;
        const event = await repo.getEvent(trx, eventId);
        if (event === null) return;
        await repo.setState(trx, eventId, applyPhoto(p));
        await repo.insertPhoto(trx, eventId, p.baseVersion + 1, txId, p);
        await repo.insertParticipant(trx, eventId, {
          id: p.participantId,
          name: p.participantName,
          siteId: p.siteId,
          siteName: p.siteName,
          username: null,
          joinedAt: p.addedAt,
          recoveryHash: null, // the join notice, when it arrives, fills it in
        });
        return;
      }
      case 'outcome': {
        const event = await repo.getEvent(trx, eventId);
        if (event === null) return;
        const next = applyOutcome(event.state, body.outcome);
        await repo.setState(
          trx,
          eventId,
          next,
          next.phase === 'published' ? body.outcome.decidedAt : undefined,
        );
        return;
      }
      case 'remove': {
        const event = await repo.getEvent(trx, eventId);
        if (event === null) return;
        const r = body.removal;
        const hadPhotos = (await repo.photos(trx, eventId)).some(
          (p) => p.photo.participantId === r.participantId,
        );
        const next = applyRemoval(event.state, r, hadPhotos);
        await repo.setState(trx, eventId, next);
        await repo.insertRemoval(trx, eventId, r.participantId, next.version, r.removedAt);
        return;
      }
      case 'delete':
        await repo.markDeleted(trx, eventId, body.deletedAt);
        return;
      case 'invite':
        // Already in effect since prepare; again here, harmlessly (the greatest invite stays).
        await repo.setInvite(trx, eventId, body.invite);
        return;
    }
  }

  /**
   * Makes sure this site holds the photo's bytes, verified and durable: already here, sent in
   * the prepare (`inline`), or fetched from the coordinator.
   */
  private async fetchPhoto(
    coordinator: Site,
    photo: { hash: string; size: number },
    inline: string | undefined,
  ): Promise<boolean> {
    const { photos, sender, log } = this.ctx;
    if (await photos.has(photo.hash)) return true;
    try {
      const body =
        inline === undefined
          ? await sender.getStream(coordinator, PATHS.photo(photo.hash))
          : Readable.from([Buffer.from(inline, 'base64')]);
      if (body === null) return false;
      await photos.receive(photo.hash, photo.size, body, 0);
      return true;
    } catch (error) {
      log.info(
        { err: (error as Error).message, hash: photo.hash },
        'could not fetch an event photo',
      );
      return false;
    }
  }
}
