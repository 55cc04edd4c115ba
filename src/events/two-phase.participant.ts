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
import { participantOnDecision, participantOnPrepare } from './core/two-phase.js';
import type { Decision, PrepareVote, Site, TxBody } from './core/types.js';
import { Readable } from 'node:stream';
import type { EventContext } from './event.context.js';
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

export class TxParticipant {
  private timer: NodeJS.Timeout | null = null;
  private asking = false;

  constructor(private readonly ctx: EventContext) {}

  async prepare(req: PrepareRequest): Promise<PrepareVote> {
    const { repo } = this.ctx;
    const logged = repo.participantTx(req.txId)?.state ?? null;
    if (logged !== null) return participantOnPrepare(logged, () => this.evaluate(req)).vote;
    const first = this.evaluate(req);
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
    const result = repo.transaction(() => {
      const now = repo.participantTx(req.txId)?.state ?? null;
      const step = participantOnPrepare(now, () => this.evaluate(req));
      if (step.log) {
        repo.logTx(
          'participant',
          req.txId,
          req.eventId,
          req.coordinator,
          req.body,
          'prepared',
          this.ctx.now(),
        );
      }
      return step;
    });
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
   * The coordinator's own prepare, inside the SQLite transaction that logs it `preparing` (the
   * bytes of a photo are already here): logs `prepared` when the rules say yes. Its prepare
   * request, sent a moment later like any site's, is then answered from the log.
   */
  prepareHereInTx(req: PrepareRequest): void {
    const { repo } = this.ctx;
    const step = participantOnPrepare(repo.participantTx(req.txId)?.state ?? null, () =>
      this.evaluate(req),
    );
    if (step.log) {
      repo.logTx(
        'participant',
        req.txId,
        req.eventId,
        req.coordinator,
        req.body,
        'prepared',
        this.ctx.now(),
      );
    }
  }

  /**
   * Logs and applies a decision (synchronous: the coordinator calls it inside the SQLite
   * transaction that logs its own decision). Returns whether it committed something new.
   */
  decideInTx(txId: string, eventId: string, decision: Decision): boolean {
    const { repo } = this.ctx;
    const logged = repo.participantTx(txId);
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
        if (logged)
          repo.logTx(
            'participant',
            txId,
            logged.eventId,
            logged.coordinator,
            logged.body,
            'aborted',
            this.ctx.now(),
          );
        else repo.logAbortTombstone(txId, eventId, this.ctx.now());
        return false;
      case 'apply-commit':
        if (!logged) return false;
        this.apply(logged.eventId, txId, logged.body);
        repo.logTx(
          'participant',
          txId,
          logged.eventId,
          logged.coordinator,
          logged.body,
          'committed',
          this.ctx.now(),
        );
        return true;
    }
  }

  /** A decision from a remote coordinator (the /peer handler and the in-doubt loop). */
  decide(txId: string, eventId: string, decision: Decision): void {
    const committed = this.ctx.repo.transaction(() => this.decideInTx(txId, eventId, decision));
    if (!committed) return;
    this.ctx.faults.crashPoint('participant.after-log-commit');
    const tx = this.ctx.repo.participantTx(txId);
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

  /** Prepared, undecided for a while: ask the coordinator (decisions also arrive by outbox). */
  async askInDoubt(): Promise<void> {
    if (this.asking) return;
    this.asking = true;
    try {
      const self = this.ctx.self();
      for (const tx of this.ctx.repo.inDoubt(this.ctx.now() - IN_DOUBT_AFTER_MS)) {
        if (tx.coordinator.id === self.id) continue; // our own coordinator's recovery decides
        try {
          const { state } = await this.ctx.sender.post(
            tx.coordinator,
            PATHS.status,
            { txId: tx.id },
            StatusResponse,
            3_000,
          );
          if (state === 'committed') this.decide(tx.id, tx.eventId, 'commit');
          else if (state === 'aborted') this.decide(tx.id, tx.eventId, 'abort');
          // 'unknown' cannot happen (a coordinator logs before preparing): keep waiting.
        } catch {
          // The coordinator is unreachable: wait, it resends its decision when back.
        }
      }
    } finally {
      this.asking = false;
    }
  }

  private evaluate(req: PrepareRequest): PrepareVote {
    const { repo } = this.ctx;
    const event = repo.getEvent(req.eventId);
    const holds = repo.holdsPrepared(req.eventId, req.txId);
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
    }
  }

  private apply(eventId: string, txId: string, body: TxBody): void {
    const { repo } = this.ctx;
    switch (body.kind) {
      case 'create': {
        const existing = repo.getEvent(eventId);
        if (existing === null) repo.insertEvent(body.event, COLLECTING);
        else if (existing.state.phase === 'creating') repo.setState(eventId, COLLECTING);
        const organiser = organiserOf(body.event);
        if (organiser) repo.insertParticipant(eventId, organiser);
        return;
      }
      case 'photo': {
        const p = body.photo;
        const event = repo.getEvent(eventId);
        if (event === null) return;
        repo.setState(eventId, applyPhoto(p));
        repo.insertPhoto(eventId, p.baseVersion + 1, txId, p);
        repo.insertParticipant(eventId, {
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
        const event = repo.getEvent(eventId);
        if (event === null) return;
        const next = applyOutcome(event.state, body.outcome);
        repo.setState(
          eventId,
          next,
          next.phase === 'published' ? body.outcome.decidedAt : undefined,
        );
        return;
      }
      case 'remove': {
        const event = repo.getEvent(eventId);
        if (event === null) return;
        const r = body.removal;
        const hadPhotos = repo
          .photos(eventId)
          .some((p) => p.photo.participantId === r.participantId);
        const next = applyRemoval(event.state, r, hadPhotos);
        repo.setState(eventId, next);
        repo.insertRemoval(eventId, r.participantId, next.version, r.removedAt);
        return;
      }
      case 'delete':
        repo.markDeleted(eventId, body.deletedAt);
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
