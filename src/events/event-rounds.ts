/**
 * The voting side of an event at one site: voting notices and vote reports from other sites,
 * and, at the master, the decision on each round — with the vote collection that makes sure a
 * vote acknowledged before the deadline anywhere is counted (docs/events.md, "Rounds and
 * votes").
 */
import { ConflictError, NotFoundError } from '../core/errors.js';
import { checkVote, closeVoting, decideRound, startVoting } from './core/event-phase.js';
import type { OutcomePayload, Site, VoteDecision } from './core/types.js';
import { backoff, type EventContext } from './event.context.js';
import { PATHS, VoteCollection } from './event-messages.js';
import { submitterIds } from './event.view.js';
import { voteRefusal } from './event-words.js';
import type { TxCoordinator } from './two-phase.coordinator.js';

/** After the deadline, how long the master waits for vote reports already on their way. */
const DECISION_GRACE_MS = 500;

interface Collection {
  readonly started: number;
  readonly answered: Map<string, number>;
  inFlight: boolean;
  attempts: number;
  nextAt: number;
}

export class RoundKeeper {
  /** At the master: per `event/round`, the sites that answered the vote collection. */
  private readonly collections = new Map<string, Collection>();

  constructor(
    private readonly ctx: EventContext,
    private readonly coordinator: TxCoordinator,
  ) {}

  /**
   * Records a vote cast here (the caller checked that `voter` may vote), starts the voting
   * period on the first accept, and tells the other sites and the master (outbox, in the same
   * transaction); then sends those messages and considers the round.
   */
  async castVote(
    eventId: string,
    voter: string,
    input: { montageVersion: number; decision: VoteDecision },
  ): Promise<void> {
    const { repo, txLog, outbox, store } = this.ctx;
    const self = this.ctx.self();
    const queued = await store.transaction(async (trx) => {
      const locked = await repo.lockEvent(trx, eventId);
      if (!locked || locked.deletedAt !== null) throw new NotFoundError('Event');
      const { state, record } = locked;
      const now = this.ctx.now();
      const ids: number[] = [];
      if (
        (state.phase === 'voting' || state.phase === 'collecting') &&
        (await repo.votes(trx, eventId, state.round)).some(
          (v) => v.participantId === voter && v.version === state.version,
        )
      ) {
        throw new ConflictError(
          'You already voted on this montage; a vote cannot be changed.',
          'already_voted',
        );
      }
      const check = checkVote(
        state,
        input.montageVersion,
        input.decision,
        await txLog.holdsPrepared(trx, eventId),
        now,
      );
      if (check.kind === 'refuse') throw voteRefusal(check.code, state.version);
      let deadline = state.deadline ?? now;
      if (check.startsVoting) {
        deadline = now + record.votingSeconds * 1000;
        await repo.setState(trx, eventId, { ...state, phase: 'voting', deadline });
        const notice = { eventId, round: state.round, version: state.version, deadline };
        for (const site of this.others(locked.record.sites))
          ids.push(await outbox.enqueue(trx, site, PATHS.voting, notice, now));
      }
      await repo.insertVote(
        trx,
        eventId,
        state.round,
        { participantId: voter, version: state.version, decision: input.decision },
        now,
      );
      // Every vote goes to the master at once (outbox, in the same transaction): a participant
      // may vote at any site, and the master needs each vote, not a site's complete set.
      const master = record.sites.find((s) => s.id === record.originId);
      if (record.originId !== self.id && master) {
        const vote = { participantId: voter, version: state.version, decision: input.decision };
        const report = {
          eventId,
          round: state.round,
          version: state.version,
          deadline,
          siteId: self.id,
          votes: [vote],
        };
        ids.push(await outbox.enqueue(trx, master, PATHS.votes, report, now));
      }
      return ids;
    });
    void this.ctx.sender.deliverNow(queued, undefined, false);
    await this.considerRound(eventId);
  }

  async onVotingNotice(notice: {
    eventId: string;
    round: number;
    version: number;
    deadline: number;
  }): Promise<void> {
    const { store, repo } = this.ctx;
    await store.transaction(async (trx) => {
      const event = await repo.lockEvent(trx, notice.eventId);
      if (!event) throw new ConflictError('Unknown event here yet; send again later.');
      if (event.deletedAt !== null) return; // deleted: acknowledge and drop
      const result = startVoting(event.state, notice.round, notice.version, notice.deadline);
      if (result.kind === 'lagging')
        throw new ConflictError('This site has not caught up yet; send again later.');
      if (result.kind === 'started') await repo.setState(trx, notice.eventId, result.state);
    });
    await this.considerRound(notice.eventId);
  }

  async onVoteReport(report: {
    eventId: string;
    round: number;
    version: number;
    deadline: number;
    votes: readonly { participantId: string; version: number; decision: VoteDecision }[];
  }): Promise<void> {
    const { store, repo } = this.ctx;
    await store.transaction(async (trx) => {
      const event = await repo.lockEvent(trx, report.eventId);
      if (!event) throw new ConflictError('Unknown event here yet; send again later.');
      if (event.deletedAt !== null) return; // deleted: acknowledge and drop
      const started = startVoting(event.state, report.round, report.version, report.deadline);
      if (started.kind === 'lagging')
        throw new ConflictError('This site has not caught up yet; send again later.');
      if (started.kind === 'started') await repo.setState(trx, report.eventId, started.state);
      for (const v of report.votes)
        await repo.insertVote(trx, report.eventId, report.round, v, this.ctx.now());
    });
    await this.considerRound(report.eventId);
  }

  /**
   * At the master: decide the current round once all votes are in or the deadline passed.
   * Called after each vote or report here, and by the deadline loop (leader process only). Two
   * calls at once may both decide: the outcome transaction has a fixed id, begun only once.
   */
  async considerRound(eventId: string): Promise<void> {
    const { store, repo, txLog } = this.ctx;
    const db = store.db;
    const event = await repo.getEvent(db, eventId);
    if (!event || event.record.originId !== this.ctx.self().id || event.state.phase !== 'voting')
      return;
    const { round, version, deadline } = event.state;
    const txId = `out_${eventId.slice(4)}_${round}`;
    if (await txLog.coordinatorTx(db, txId)) return; // decided already, being carried out
    const [allVotes, photos] = await Promise.all([
      repo.votes(db, eventId, round),
      repo.photos(db, eventId),
    ]);
    const votes = votesOn(allVotes, version);
    const now = this.ctx.now();
    const passed = deadline !== null && now > deadline + DECISION_GRACE_MS;
    const key = `${eventId}/${round}`;
    const collection = this.collections.get(key);
    const others = this.others(event.record.sites);
    const collected =
      collection !== undefined && others.every((site) => collection.answered.has(site.id));
    const submitters = submitterIds(photos);
    let decision = decideRound(submitters, votes, passed, collected);
    if (decision === 'wait') return;
    if (decision === 'collect') {
      this.collectVotes(eventId, round, version, others);
      return;
    }
    if (decision === 'abort' && ![...votes.values()].includes('reject')) {
      const final = await this.closeHere(eventId, round, version, submitters);
      if (final === null) return;
      decision = final;
    }
    this.collections.delete(key);
    const outcome: OutcomePayload = { round, version, outcome: decision, decidedAt: now };
    this.ctx.log.info({ eventId, round, version, decision }, 'round decided');
    this.coordinator
      .run(txId, eventId, { kind: 'outcome', outcome }, event.record.sites)
      .catch((err: unknown) => {
        this.ctx.log.error({ err, eventId }, 'outcome transaction failed');
      });
  }

  /**
   * At the master, before it aborts a round for a missing vote: closes the round at this site
   * too, so that no process of the site takes a vote from then on whatever its clock says, and
   * decides again on the votes recorded here by then. They are read under the event's lock:
   * after any vote a process of this site was recording (its transaction holds the lock), and
   * after every vote the collection brought (inserted before a site counts as answered). Null:
   * the round is no longer this one's to decide.
   */
  private async closeHere(
    eventId: string,
    round: number,
    version: number,
    submitters: readonly string[],
  ): Promise<'publish' | 'abort' | null> {
    const { store, repo } = this.ctx;
    return store.transaction(async (trx) => {
      const event = await repo.lockEvent(trx, eventId);
      if (!event || event.deletedAt !== null) return null;
      const { state } = event;
      if (state.phase !== 'voting' || state.round !== round || state.version !== version)
        return null;
      const closed = closeVoting(state, round, version, this.ctx.now());
      if (closed.kind === 'closed' && !state.closed)
        await repo.setState(trx, eventId, closed.state);
      const votes = votesOn(await repo.votes(trx, eventId, round), version);
      const decision = decideRound(submitters, votes, true, true);
      return decision === 'publish' || decision === 'abort' ? decision : null;
    });
  }

  /**
   * At the master, after the deadline with votes missing: asks every other site for the votes
   * it recorded in this round (each answer closes the round there). Sites that do not answer
   * are asked again, with back-off, until they do; considerRound decides once all answered (or
   * earlier, when a reject or the missing accepts arrive).
   */
  private collectVotes(eventId: string, round: number, version: number, sites: Site[]): void {
    const key = `${eventId}/${round}`;
    let collection = this.collections.get(key);
    if (!collection) {
      collection = {
        started: this.ctx.now(),
        answered: new Map(),
        inFlight: false,
        attempts: 0,
        nextAt: 0,
      };
      this.collections.set(key, collection);
    }
    const c = collection;
    if (c.inFlight || this.ctx.now() < c.nextAt) return;
    c.inFlight = true;
    const ask = async (site: Site) => {
      const answer = await this.ctx.sender.post(
        site,
        PATHS.collect,
        { eventId, round, version },
        VoteCollection,
      );
      await this.ctx.store.transaction(async (trx) => {
        for (const v of answer.votes)
          await this.ctx.repo.insertVote(trx, eventId, round, v, this.ctx.now());
      });
      c.answered.set(site.id, this.ctx.now());
    };
    const pending = sites.filter((site) => !c.answered.has(site.id));
    void Promise.allSettled(pending.map(ask))
      .then((results) => {
        c.inFlight = false;
        const failed = results.filter((r) => r.status === 'rejected');
        if (failed.length > 0) {
          c.nextAt = this.ctx.now() + backoff(c.attempts++, 2_000);
          this.ctx.log.warn(
            { eventId, round, waitingFor: failed.length },
            'vote collection: some sites did not answer; asking again',
          );
        }
        return this.considerRound(eventId);
      })
      .catch((err: unknown) => {
        this.ctx.log.warn({ err, eventId }, 'vote collection failed');
      });
  }

  /**
   * At the master, while it collects the votes of the current round: since when it asks, and
   * which sites answered when (null: not collecting).
   */
  collectionOf(
    eventId: string,
    round: number,
  ): { started: number; answered: ReadonlyMap<string, number> } | null {
    return this.collections.get(`${eventId}/${round}`) ?? null;
  }

  /** A site asked by the master for its votes of a round: close the round here, then answer. */
  async onCollect(request: { eventId: string; round: number; version: number }): Promise<{
    votes: { participantId: string; version: number; decision: VoteDecision }[];
  }> {
    const { store, repo } = this.ctx;
    return store.transaction(async (trx) => {
      const event = await repo.lockEvent(trx, request.eventId);
      if (!event) throw new ConflictError('Unknown event here yet; send again later.');
      if (event.deletedAt !== null) return { votes: [] };
      const result = closeVoting(event.state, request.round, request.version, this.ctx.now());
      if (result.kind === 'lagging')
        throw new ConflictError('This site has not caught up yet; send again later.');
      if (result.state !== event.state) await repo.setState(trx, request.eventId, result.state);
      return { votes: await repo.votes(trx, request.eventId, request.round) };
    });
  }

  private others(eventSites: readonly Site[]): Site[] {
    const selfId = this.ctx.self().id;
    return eventSites.filter((s) => s.id !== selfId);
  }
}

/** The decisions recorded on `version`, by participant. */
function votesOn(
  recorded: readonly { participantId: string; version: number; decision: VoteDecision }[],
  version: number,
): Map<string, VoteDecision> {
  return new Map(
    recorded.filter((v) => v.version === version).map((v) => [v.participantId, v.decision]),
  );
}
