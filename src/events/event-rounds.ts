/**
 * The voting side of an event at one site: voting notices and vote reports from other sites,
 * and, at the master, the decision on each round — with the vote collection that makes sure a
 * vote acknowledged before the deadline anywhere is counted (docs/events.md, "Rounds and
 * votes").
 */
import { ConflictError } from '../core/errors.js';
import { closeVoting, decideRound, startVoting } from './core/event-phase.js';
import type { OutcomePayload, Site, VoteDecision } from './core/types.js';
import { backoff, type EventContext } from './event.context.js';
import { PATHS, VoteCollection } from './event-messages.js';
import { submitterIds } from './event.view.js';
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

  onVotingNotice(notice: {
    eventId: string;
    round: number;
    version: number;
    deadline: number;
  }): void {
    const { repo } = this.ctx;
    repo.transaction(() => {
      const event = repo.getEvent(notice.eventId);
      if (!event) throw new ConflictError('Unknown event here yet; send again later.');
      if (event.deletedAt !== null) return; // deleted: acknowledge and drop
      const result = startVoting(event.state, notice.round, notice.version, notice.deadline);
      if (result.kind === 'lagging')
        throw new ConflictError('This site has not caught up yet; send again later.');
      if (result.kind === 'started') repo.setState(notice.eventId, result.state);
    });
    this.considerRound(notice.eventId);
  }

  onVoteReport(report: {
    eventId: string;
    round: number;
    version: number;
    deadline: number;
    votes: readonly { participantId: string; version: number; decision: VoteDecision }[];
  }): void {
    const { repo } = this.ctx;
    repo.transaction(() => {
      const event = repo.getEvent(report.eventId);
      if (!event) throw new ConflictError('Unknown event here yet; send again later.');
      if (event.deletedAt !== null) return; // deleted: acknowledge and drop
      const started = startVoting(event.state, report.round, report.version, report.deadline);
      if (started.kind === 'lagging')
        throw new ConflictError('This site has not caught up yet; send again later.');
      if (started.kind === 'started') repo.setState(report.eventId, started.state);
      for (const v of report.votes)
        repo.insertVote(report.eventId, report.round, v, this.ctx.now());
    });
    this.considerRound(report.eventId);
  }

  /** At the master: decide the current round once all votes are in or the deadline passed. */
  considerRound(eventId: string): void {
    const { repo } = this.ctx;
    const event = repo.getEvent(eventId);
    if (!event || event.record.originId !== this.ctx.self().id || event.state.phase !== 'voting')
      return;
    const { round, version, deadline } = event.state;
    const txId = `out_${eventId.slice(4)}_${round}`;
    if (repo.coordinatorTx(txId)) return; // decided already, being carried out
    const votes = new Map(
      repo
        .votes(eventId, round)
        .filter((v) => v.version === version)
        .map((v) => [v.participantId, v.decision]),
    );
    const now = this.ctx.now();
    const passed = deadline !== null && now > deadline + DECISION_GRACE_MS;
    const key = `${eventId}/${round}`;
    const collection = this.collections.get(key);
    const others = this.others(event.record.sites);
    const collected =
      collection !== undefined && others.every((site) => collection.answered.has(site.id));
    const decision = decideRound(submitterIds(repo.photos(eventId)), votes, passed, collected);
    if (decision === 'wait') return;
    if (decision === 'collect') {
      this.collectVotes(eventId, round, version, others);
      return;
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
      this.ctx.repo.transaction(() => {
        for (const v of answer.votes) this.ctx.repo.insertVote(eventId, round, v, this.ctx.now());
      });
      c.answered.set(site.id, this.ctx.now());
    };
    const pending = sites.filter((site) => !c.answered.has(site.id));
    void Promise.allSettled(pending.map(ask)).then((results) => {
      c.inFlight = false;
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        c.nextAt = this.ctx.now() + backoff(c.attempts++, 2_000);
        this.ctx.log.warn(
          { eventId, round, waitingFor: failed.length },
          'vote collection: some sites did not answer; asking again',
        );
      }
      this.considerRound(eventId);
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
  onCollect(request: { eventId: string; round: number; version: number }): {
    votes: { participantId: string; version: number; decision: VoteDecision }[];
  } {
    const { repo } = this.ctx;
    return repo.transaction(() => {
      const event = repo.getEvent(request.eventId);
      if (!event) throw new ConflictError('Unknown event here yet; send again later.');
      if (event.deletedAt !== null) return { votes: [] };
      const result = closeVoting(event.state, request.round, request.version, this.ctx.now());
      if (result.kind === 'lagging')
        throw new ConflictError('This site has not caught up yet; send again later.');
      if (result.state !== event.state) repo.setState(request.eventId, result.state);
      return { votes: repo.votes(request.eventId, request.round) };
    });
  }

  private others(eventSites: readonly Site[]): Site[] {
    const selfId = this.ctx.self().id;
    return eventSites.filter((s) => s.id !== selfId);
  }
}
