/**
 * Group photo events at one site: creating (the master's `create` transaction), joining by
 * invite, adding photos (a `photo` transaction coordinated by this site), voting, and the
 * master's decision on each round (an `outcome` transaction). Each public operation opens with
 * its permission check. The protocol itself is in core/ (pure) and two-phase.*.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import type { StagedBlob } from '../blobs/blob-store.js';
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnavailableError,
} from '../core/errors.js';
import type { Principal } from '../accounts/principal.js';
import { checkVote, INITIAL_STATE } from './core/event-phase.js';
import type { EventRecord, Site, TxBody, VoteDecision } from './core/types.js';
import { sleep, type EventContext } from './event.context.js';
import { PATHS } from './event-messages.js';
import { organiserOf, type Participant, type StoredEvent } from './event.repository.js';
import { eventView, type EventView, type Role } from './event.view.js';
import type { MontageBuilder } from './montage.js';
import { RoundKeeper } from './event-rounds.js';
import { siteProgress } from './event-progress.js';
import { EventChanges } from './event-changes.js';
import { isSubmitter, mustGet, participantOf, roleOf, type Caller } from './event-access.js';

export type { Caller } from './event-access.js';
import { voteRefusal } from './event-words.js';
import type { TxCoordinator } from './two-phase.coordinator.js';
import type { TxParticipant } from './two-phase.participant.js';

export interface EventServiceDeps {
  readonly ctx: EventContext;
  readonly coordinator: TxCoordinator;
  readonly participant: TxParticipant;
  readonly montage: MontageBuilder;
  /**
   * Every other member of the cluster this site knows of (configured, discovered or
   * remembered), for a new event's site list: `url` always, `site` once contacted (its id).
   */
  readonly members: () => readonly Member[];
  readonly siteUrl: () => string | null;
}

export interface Member {
  readonly url: string;
  readonly site: Site | null;
}

/** What joining answers: the view, and the personal recovery code, shown only this once. */
export interface Joined {
  readonly view: EventView;
  readonly participantId: string;
  readonly recoveryCode: string | null;
}

/** How long creating an event waits for configured members that were not contacted yet. */
const MEMBERS_WAIT_MS = 10_000;
const CREATE_WAIT_MS = 3_000;
const MONTAGE_DEBOUNCE_MS = 500;

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

export class EventService {
  private timer: NodeJS.Timeout | null = null;
  private readonly montageTimers = new Map<string, NodeJS.Timeout>();
  /** Voting notices and reports, and the master's decision on each round. */
  readonly rounds: RoundKeeper;
  private readonly changes: EventChanges;

  constructor(private readonly deps: EventServiceDeps) {
    this.rounds = new RoundKeeper(deps.ctx, deps.coordinator);
    this.changes = new EventChanges(deps.ctx, deps.coordinator);
  }

  private get ctx(): EventContext {
    return this.deps.ctx;
  }

  start(): void {
    this.deps.coordinator.recover((id) => this.sitesOf(id));
    this.deps.participant.start();
    this.ctx.sender.start();
    this.timer = setInterval(() => {
      for (const event of this.ctx.repo.votingEvents()) this.rounds.considerRound(event.record.id);
    }, 250);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const timer of this.montageTimers.values()) clearTimeout(timer);
    this.deps.coordinator.stop();
    this.deps.participant.stop();
    await this.ctx.sender.stop();
  }

  // --- public operations --------------------------------------------------------------------

  async create(
    principal: Principal,
    input: { title: string; votingSeconds: number; maxParticipants: number },
    caller: Caller,
  ): Promise<EventView> {
    const self = this.ctx.self();
    const sites = await this.memberSites();
    const record: EventRecord = {
      id: newId('evt'),
      title: input.title,
      originId: self.id,
      originName: self.name,
      organiser: principal.username,
      organiserId: newId('p'),
      invite: randomBytes(18).toString('base64url'),
      sites: [self, ...sites.filter((p) => p.id !== self.id)],
      votingSeconds: input.votingSeconds,
      maxParticipants: input.maxParticipants,
      createdAt: this.ctx.now(),
    };
    const { repo } = this.ctx;
    repo.transaction(() => {
      repo.insertEvent(record, INITIAL_STATE);
      // The organiser is one of the group: a participant from the start, identified by their
      // account at every site (so no recovery code); every site records them with the event
      // (the create transaction carries them), so no site ever counts the event without them.
      const organiser = organiserOf(record);
      if (organiser) repo.insertParticipant(record.id, organiser);
    });
    // The shadow events are created by 2PC; uploads stay refused (phase 'creating') until then.
    const done = this.deps.coordinator.run(
      newId('tx'),
      record.id,
      { kind: 'create', event: record },
      record.sites,
    );
    done.catch((err: unknown) => {
      this.ctx.log.error({ err }, 'event creation failed');
    });
    await Promise.race([done, sleep(CREATE_WAIT_MS)]);
    return this.view(record.id, caller);
  }

  /**
   * The other sites of a new event: every member this site knows of. A configured member that
   * was never contacted has no id yet; creation waits for it (bounded) rather than leaving it
   * out, and refuses with the members' addresses if it is still unknown — never silently.
   */
  private async memberSites(): Promise<Site[]> {
    const started = this.ctx.now();
    for (;;) {
      const members = this.deps.members();
      const unknown = members.filter((m) => m.site === null).map((m) => m.url);
      if (unknown.length === 0) return members.flatMap((m) => (m.site ? [m.site] : []));
      if (this.ctx.now() - started > MEMBERS_WAIT_MS) {
        throw new UnavailableError(
          `Not every site of the cluster has been reached yet (${unknown.join(', ')}): an event ` +
            'includes every site, so try again once they are up.',
        );
      }
      await sleep(100);
    }
  }

  list(caller: Caller): EventView[] {
    return this.ctx.repo
      .allEvents()
      .filter((e) => this.roleOf(e, caller) !== 'visitor')
      .map((e) => this.viewOf(e, caller));
  }

  /** The event for its organiser and participants; the public view once published. */
  get(eventId: string, caller: Caller, invite?: string): EventView {
    const event = this.mustGet(eventId);
    const invited = invite !== undefined && invite === event.record.invite;
    if (!invited && this.roleOf(event, caller) === 'visitor' && event.state.phase !== 'published') {
      throw new ForbiddenError(
        'Only the organiser and participants see this event before it is published.',
      );
    }
    return this.viewOf(event, caller);
  }

  join(eventId: string, caller: Caller, input: { invite: string; name: string }): Joined {
    const event = this.mustGet(eventId);
    if (input.invite !== event.record.invite)
      throw new ForbiddenError('This invite link is not valid for this event.');
    const existing = this.participantOf(event, caller);
    if (existing) {
      return { view: this.viewOf(event, caller), participantId: existing.id, recoveryCode: null };
    }
    if (event.state.phase === 'published')
      throw new ConflictError('The event is published: it takes no new participants.');
    const self = this.ctx.self();
    const recoveryCode = randomBytes(18).toString('base64url');
    const participant: Participant = {
      id: newId('p'),
      name: input.name,
      siteId: self.id,
      siteName: self.name,
      username: caller.principal?.username ?? null,
      joinedAt: this.ctx.now(),
      recoveryHash: hashCode(recoveryCode),
    };
    const { repo } = this.ctx;
    repo.transaction(() => {
      if (repo.participants(eventId).length >= event.record.maxParticipants) {
        throw new ConflictError(
          `The event is full: it takes at most ${event.record.maxParticipants} participants.`,
        );
      }
      this.addParticipant(eventId, event.record.sites, participant);
    });
    void this.ctx.sender.drain();
    const ids = new Map(caller.participantIds).set(eventId, participant.id);
    return {
      view: this.view(eventId, { ...caller, participantIds: ids }),
      participantId: participant.id,
      recoveryCode,
    };
  }

  /**
   * A participant back on a new device or browser: their personal recovery code (from the link
   * shown when they joined) restores them, at any site the join has reached.
   */
  recover(eventId: string, caller: Caller, code: string): Joined {
    this.mustGet(eventId);
    const hash = hashCode(code);
    const found = this.ctx.repo
      .participants(eventId)
      .find((p) => p.recoveryHash !== null && p.recoveryHash === hash);
    if (!found) {
      throw new AppError(
        404,
        'not_found',
        'This recovery link is not known here (yet): check the link, or try again in a moment.',
      );
    }
    const ids = new Map(caller.participantIds).set(eventId, found.id);
    return {
      view: this.view(eventId, { ...caller, participantIds: ids }),
      participantId: found.id,
      recoveryCode: null,
    };
  }

  /**
   * Records a participant here and tells every other site (outbox), in the caller's
   * transaction. Returns the outbox rows of the notices.
   */
  private addParticipant(eventId: string, sites: readonly Site[], p: Participant): number[] {
    const { repo } = this.ctx;
    const selfId = this.ctx.self().id;
    repo.insertParticipant(eventId, p);
    const notice = {
      id: p.id,
      name: p.name,
      siteId: p.siteId,
      siteName: p.siteName,
      joinedAt: p.joinedAt,
      username: p.username,
      recoveryHash: p.recoveryHash,
    };
    return sites
      .filter((s) => s.id !== selfId)
      .map((site) =>
        repo.enqueue(site, PATHS.participant, { eventId, participant: notice }, this.ctx.now()),
      );
  }

  /** Adds a photo (already staged in the event photo store) by 2PC across every site. */
  async addPhoto(eventId: string, caller: Caller, staged: StagedBlob): Promise<EventView> {
    await this.changes.addPhoto(eventId, caller, staged);
    return this.view(eventId, caller);
  }

  removeParticipant(eventId: string, caller: Caller, participantId: string): Promise<void> {
    return this.changes.removeParticipant(eventId, caller, participantId);
  }

  deleteEvent(eventId: string, caller: Caller): Promise<void> {
    return this.changes.deleteEvent(eventId, caller);
  }

  vote(
    eventId: string,
    caller: Caller,
    input: { montageVersion: number; decision: VoteDecision },
  ): EventView {
    const { repo } = this.ctx;
    const event = this.mustGet(eventId);
    const me = this.participantOf(event, caller);
    if (!me || !this.isSubmitter(eventId, me.id)) {
      throw new ForbiddenError('Only participants who submitted a photo vote.');
    }
    const self = this.ctx.self();
    repo.transaction(() => {
      const { state, record } = this.mustGet(eventId);
      const now = this.ctx.now();
      if (
        (state.phase === 'voting' || state.phase === 'collecting') &&
        repo
          .votes(eventId, state.round)
          .some((v) => v.participantId === me.id && v.version === state.version)
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
        repo.holdsPrepared(eventId),
        now,
      );
      if (check.kind === 'refuse') throw voteRefusal(check.code, state.version);
      let deadline = state.deadline ?? now;
      if (check.startsVoting) {
        deadline = now + record.votingSeconds * 1000;
        repo.setState(eventId, { ...state, phase: 'voting', deadline });
        const notice = { eventId, round: state.round, version: state.version, deadline };
        for (const site of this.others(this.mustGet(eventId)))
          repo.enqueue(site, PATHS.voting, notice, now);
      }
      repo.insertVote(
        eventId,
        state.round,
        { participantId: me.id, version: state.version, decision: input.decision },
        now,
      );
      // Every vote goes to the master at once (outbox, in the same transaction): a participant
      // may vote at any site, and the master needs each vote, not a site's complete set.
      const master = record.sites.find((s) => s.id === record.originId);
      if (record.originId !== self.id && master) {
        const vote = { participantId: me.id, version: state.version, decision: input.decision };
        const report = {
          eventId,
          round: state.round,
          version: state.version,
          deadline,
          siteId: self.id,
          votes: [vote],
        };
        repo.enqueue(master, PATHS.votes, report, now);
      }
    });
    void this.ctx.sender.drain();
    this.rounds.considerRound(eventId);
    return this.view(eventId, caller);
  }

  /** The file of montage `version` (default: the current one): organiser, submitters, or published. */
  async montage(eventId: string, caller: Caller, version: number | undefined): Promise<string> {
    const event = this.mustGet(eventId);
    const organiser = caller.principal?.username === event.record.organiser;
    if (event.state.phase !== 'published' && !organiser) {
      const me = this.participantOf(event, caller);
      if (!me || !this.isSubmitter(eventId, me.id)) {
        throw new ForbiddenError(
          'Only the organiser and participants who added a photo see the montage before it is published.',
        );
      }
    }
    const v = version ?? event.state.version;
    if (v < 1 || v > event.state.version) throw new NotFoundError(`Montage version ${v}`);
    return this.buildMontage(eventId, v);
  }

  // --- peer messages (already authenticated and validated) ----------------------------------

  onParticipantNotice(
    eventId: string,
    p: Omit<Participant, 'username' | 'recoveryHash'> & {
      username?: string | null | undefined;
      recoveryHash?: string | null | undefined;
    },
  ): void {
    const { repo } = this.ctx;
    const event = repo.getEvent(eventId);
    if (!event) throw new ConflictError('Unknown event here yet; send again later.');
    if (event.deletedAt !== null) return; // deleted: acknowledge and drop
    repo.insertParticipant(eventId, {
      ...p,
      username: p.username ?? null,
      recoveryHash: p.recoveryHash ?? null,
    });
  }

  txStatus(txId: string): 'preparing' | 'committed' | 'aborted' | 'unknown' {
    return this.ctx.repo.coordinatorTx(txId)?.state ?? 'unknown';
  }

  /**
   * After a commit here: build the new montage in the background, once the event has been quiet
   * for MONTAGE_DEBOUNCE_MS. A burst of photos builds only its last version eagerly (the others
   * are built on request, with the same bytes): rebuilding every version at every site took
   * two thirds of the photo commit time in the bench (docs/benchmarks.md).
   */
  onCommitted(eventId: string, body: TxBody): void {
    if (body.kind !== 'photo') return;
    clearTimeout(this.montageTimers.get(eventId));
    const timer = setTimeout(() => {
      this.montageTimers.delete(eventId);
      const version = this.ctx.repo.getEvent(eventId)?.state.version ?? 0;
      if (version < 1) return;
      this.buildMontage(eventId, version).catch((err: unknown) => {
        this.ctx.log.warn({ err, eventId }, 'montage build failed');
      });
    }, MONTAGE_DEBOUNCE_MS);
    timer.unref();
    this.montageTimers.set(eventId, timer);
  }

  // --- helpers ------------------------------------------------------------------------------

  private async buildMontage(eventId: string, version: number): Promise<string> {
    const { photos } = this.ctx;
    const inputs = this.ctx.repo.photos(eventId, version).map((p) => ({
      hash: p.photo.hash,
      read: async () => buffer(await photos.read(p.photo.hash)),
    }));
    return this.deps.montage.get(eventId, version, inputs);
  }

  private view(eventId: string, caller: Caller): EventView {
    return this.viewOf(this.mustGet(eventId), caller);
  }

  private viewOf(event: StoredEvent, caller: Caller): EventView {
    const { repo } = this.ctx;
    const id = event.record.id;
    return eventView({
      event,
      photos: repo.photos(id),
      participants: repo.participants(id),
      votes: repo.votes(id, event.state.round),
      role: this.roleOf(event, caller),
      me: this.participantOf(event, caller),
      username: caller.principal?.username ?? null,
      siteUrl: this.deps.siteUrl(),
      progress: siteProgress(event, this.ctx.self().id, this.deps.coordinator, this.rounds),
    });
  }

  private roleOf(event: StoredEvent, caller: Caller): Role {
    return roleOf(this.ctx.repo, this.ctx.self().id, event, caller);
  }

  private participantOf(event: StoredEvent, caller: Caller): Participant | null {
    return participantOf(this.ctx.repo, this.ctx.self().id, event, caller);
  }

  private isSubmitter(eventId: string, participantId: string): boolean {
    return isSubmitter(this.ctx.repo, eventId, participantId);
  }

  private mustGet(eventId: string): StoredEvent {
    return mustGet(this.ctx.repo, eventId);
  }

  private others(event: StoredEvent): Site[] {
    const selfId = this.ctx.self().id;
    return event.record.sites.filter((s) => s.id !== selfId);
  }

  private sitesOf(eventId: string): readonly Site[] {
    return this.ctx.repo.getEvent(eventId)?.record.sites ?? [this.ctx.self()];
  }
}

const hashCode = (code: string): string => createHash('sha256').update(code).digest('hex');
