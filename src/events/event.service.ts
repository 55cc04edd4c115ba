/**
 * Group photo events at one site: creating (the master's `create` transaction), joining by
 * invite, adding photos (a `photo` transaction coordinated by this site), voting, and the
 * master's decision on each round (an `outcome` transaction). Each public operation opens with
 * its permission check. The protocol itself is in core/ (pure) and two-phase.*.ts.
 */
import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { FailureLog } from '../core/failure-log.js';
import type { StagedBlob } from '../blobs/blob-store.js';
import {
  ForbiddenError,
  InviteRefusedError,
  NotFoundError,
  UnavailableError,
} from '../core/errors.js';
import type { Principal } from '../accounts/principal.js';
import { INITIAL_STATE } from './core/event-phase.js';
import type { EventRecord, Site, TxBody, VoteDecision } from './core/types.js';
import { sleep, type EventContext } from './event.context.js';
import { organiserOf, type Participant, type StoredEvent } from './event.repository.js';
import { EventPeople, type Joined, type ParticipantNotice } from './event-people.js';
import { eventView, type EventView, type Role } from './event.view.js';
import type { MontageBuilder } from './montage.js';
import { RoundKeeper } from './event-rounds.js';
import { siteProgress } from './event-progress.js';
import { EventChanges } from './event-changes.js';
import { EventInvites, type NewInvite } from './event-invite.js';
import { inviteAccepted } from './core/invite.js';
import { INVITE_REFUSED } from './event-words.js';
import { isSubmitter, mustGet, participantOf, roleOf, type Caller } from './event-access.js';

export type { Caller } from './event-access.js';
export type { Joined } from './event-people.js';
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

/** How long creating an event waits for configured members that were not contacted yet. */
const MEMBERS_WAIT_MS = 10_000;
const CREATE_WAIT_MS = 3_000;
const MONTAGE_DEBOUNCE_MS = 500;
/**
 * How often the leader looks for transactions another process of the site began and left (it
 * died), and how long one must have stood unchanged to count as left. A photo transaction's
 * driver decides within PHOTO_PREPARE_TIMEOUT_MS; a create or outcome transaction driven twice
 * is harmless (the first decision logged wins).
 */
const ORPHAN_CHECK_MS = 5_000;
const ORPHAN_AGE_MS = 15_000;

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

export class EventService {
  private timer: NodeJS.Timeout | null = null;
  private readonly montageTimers = new Map<string, NodeJS.Timeout>();
  /** Voting notices and reports, and the master's decision on each round. */
  readonly rounds: RoundKeeper;
  private readonly changes: EventChanges;
  private readonly people: EventPeople;
  private readonly invites: EventInvites;
  /** Whether this process, as the site's leader, has recovered the open transactions. */
  private recovered = false;
  /** When this process last looked for transactions left by another process of the site. */
  private orphansCheckedAt = 0;
  /** The background work under way, if any (one at a time); its failures, told once a run. */
  private ticking: Promise<void> | null = null;
  private readonly failures: FailureLog;

  constructor(private readonly deps: EventServiceDeps) {
    this.rounds = new RoundKeeper(deps.ctx, deps.coordinator);
    this.changes = new EventChanges(deps.ctx, deps.coordinator);
    this.people = new EventPeople(deps.ctx, (id, caller) => this.view(id, caller));
    this.invites = new EventInvites(deps.ctx, deps.coordinator, (id, c) => this.view(id, c));
    this.failures = new FailureLog(deps.ctx.log, 'event background work');
  }

  private get ctx(): EventContext {
    return this.deps.ctx;
  }

  /**
   * Starts the background work: coordinator recovery, the in-doubt and outbox loops, and round
   * deadlines (every 250 ms). All of it runs only while `ctx.isLeader()` says this process is
   * the site's leader; a process that becomes leader recovers the open transactions then, and
   * while it leads, those another process of the site began and left (see ORPHAN_AGE_MS).
   */
  start(): void {
    this.deps.participant.start();
    this.ctx.sender.start();
    this.timer = setInterval(() => {
      void this.tick();
    }, 250);
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking; // the store closes after stop
    for (const timer of this.montageTimers.values()) clearTimeout(timer);
    this.deps.coordinator.stop();
    this.deps.participant.stop();
    await this.ctx.sender.stop();
  }

  private tick(): Promise<void> {
    this.ticking ??= this.work().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async work(): Promise<void> {
    try {
      if (!this.ctx.isLeader()) {
        this.recovered = false; // recover again if the lead comes back here
        return;
      }
      const now = this.ctx.now();
      if (!this.recovered) {
        this.recovered = true;
        this.orphansCheckedAt = now;
        await this.deps.coordinator.recover((id) => this.sitesOf(id));
      } else if (now - this.orphansCheckedAt >= ORPHAN_CHECK_MS) {
        // Any process of the site may begin a transaction (a vote that decides a round, an
        // event created there); if it dies before the decision, the leader follows through.
        this.orphansCheckedAt = now;
        await this.deps.coordinator.recover((id) => this.sitesOf(id), now - ORPHAN_AGE_MS);
      }
      const voting = await this.ctx.repo.votingEvents(this.ctx.store.db);
      for (const event of voting) await this.rounds.considerRound(event.record.id);
      this.failures.succeeded();
    } catch (err) {
      this.failures.failed(err);
    }
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
    const { repo, store } = this.ctx;
    await store.transaction(async (trx) => {
      await repo.insertEvent(trx, record, INITIAL_STATE);
      // The organiser is one of the group: a participant from the start, identified by their
      // account at every site (so no recovery code); every site records them with the event
      // (the create transaction carries them), so no site ever counts the event without them.
      const organiser = organiserOf(record);
      if (organiser) await repo.insertParticipant(trx, record.id, organiser);
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

  async list(caller: Caller): Promise<EventView[]> {
    const all = await this.ctx.repo.allEvents(this.ctx.store.db);
    const views = await Promise.all(
      all.map(async (e) =>
        (await this.roleOf(e, caller)) === 'visitor' ? null : this.viewOf(e, caller),
      ),
    );
    return views.filter((v) => v !== null);
  }

  /** The event for its organiser and participants; the public view once published. */
  async get(eventId: string, caller: Caller, invite?: string): Promise<EventView> {
    const event = await this.mustGet(eventId);
    const invited = invite !== undefined && inviteAccepted(event.record, invite);
    if (
      !invited &&
      event.state.phase !== 'published' &&
      (await this.roleOf(event, caller)) === 'visitor'
    ) {
      // A replaced (or mistyped) invite says so: the page then does not offer to join.
      if (invite !== undefined) throw new InviteRefusedError(INVITE_REFUSED);
      throw new ForbiddenError(
        'Only the organiser and participants see this event before it is published.',
      );
    }
    return this.viewOf(event, caller);
  }

  join(eventId: string, caller: Caller, input: { invite: string; name: string }): Promise<Joined> {
    return this.people.join(eventId, caller, input);
  }

  /**
   * A participant back on a new device or browser: their personal recovery code (from the link
   * shown when they joined) restores them, at any site the join has reached.
   */
  recover(eventId: string, caller: Caller, code: string): Promise<Joined> {
    return this.people.recover(eventId, caller, code);
  }

  /** Adds a photo (already staged in the event photo store) by 2PC across every site. */
  async addPhoto(eventId: string, caller: Caller, staged: StagedBlob): Promise<EventView> {
    await this.changes.addPhoto(eventId, caller, staged);
    return this.view(eventId, caller);
  }

  removeParticipant(eventId: string, caller: Caller, participantId: string): Promise<void> {
    return this.changes.removeParticipant(eventId, caller, participantId);
  }

  /** A new invite link (organiser or admin): the old one is refused at every site from then on. */
  rotateInvite(eventId: string, caller: Caller): Promise<NewInvite> {
    return this.invites.rotate(eventId, caller);
  }

  deleteEvent(eventId: string, caller: Caller): Promise<void> {
    return this.changes.deleteEvent(eventId, caller);
  }

  async vote(
    eventId: string,
    caller: Caller,
    input: { montageVersion: number; decision: VoteDecision },
  ): Promise<EventView> {
    const event = await this.mustGet(eventId);
    const me = await this.participantOf(event, caller);
    if (!me || !(await this.isSubmitter(eventId, me.id))) {
      throw new ForbiddenError('Only participants who submitted a photo vote.');
    }
    await this.rounds.castVote(eventId, me.id, input);
    return this.view(eventId, caller);
  }

  /** The file of montage `version` (default: the current one): organiser, submitters, or published. */
  async montage(eventId: string, caller: Caller, version: number | undefined): Promise<string> {
    const event = await this.mustGet(eventId);
    const organiser = caller.principal?.username === event.record.organiser;
    if (event.state.phase !== 'published' && !organiser) {
      const me = await this.participantOf(event, caller);
      if (!me || !(await this.isSubmitter(eventId, me.id))) {
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

  onParticipantNotice(eventId: string, p: ParticipantNotice): Promise<void> {
    return this.people.onParticipantNotice(eventId, p);
  }

  async txStatus(txId: string): Promise<'preparing' | 'committed' | 'aborted' | 'unknown'> {
    return (await this.ctx.txLog.coordinatorTx(this.ctx.store.db, txId))?.state ?? 'unknown';
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
      const build = async () => {
        const event = await this.ctx.repo.getEvent(this.ctx.store.db, eventId);
        const version = event?.state.version ?? 0;
        if (version >= 1) await this.buildMontage(eventId, version);
      };
      build().catch((err: unknown) => {
        this.ctx.log.warn({ err, eventId }, 'montage build failed');
      });
    }, MONTAGE_DEBOUNCE_MS);
    timer.unref();
    this.montageTimers.set(eventId, timer);
  }

  // --- helpers ------------------------------------------------------------------------------

  private async buildMontage(eventId: string, version: number): Promise<string> {
    const { photos } = this.ctx;
    const inputs = (await this.ctx.repo.photos(this.ctx.store.db, eventId, version)).map((p) => ({
      hash: p.photo.hash,
      read: async () => buffer(await photos.read(p.photo.hash)),
    }));
    return this.deps.montage.get(eventId, version, inputs);
  }

  private async view(eventId: string, caller: Caller): Promise<EventView> {
    return this.viewOf(await this.mustGet(eventId), caller);
  }

  private async viewOf(event: StoredEvent, caller: Caller): Promise<EventView> {
    const { repo, store } = this.ctx;
    const id = event.record.id;
    const [photos, participants, votes, role, me] = await Promise.all([
      repo.photos(store.db, id),
      repo.participants(store.db, id),
      repo.votes(store.db, id, event.state.round),
      this.roleOf(event, caller),
      this.participantOf(event, caller),
    ]);
    return eventView({
      event,
      photos,
      participants,
      votes,
      role,
      me,
      username: caller.principal?.username ?? null,
      siteUrl: this.deps.siteUrl(),
      progress: siteProgress(event, this.ctx.self().id, this.deps.coordinator, this.rounds),
    });
  }

  private roleOf(event: StoredEvent, caller: Caller): Promise<Role> {
    return roleOf(this.ctx.repo, this.ctx.store.db, this.ctx.self().id, event, caller);
  }

  private participantOf(event: StoredEvent, caller: Caller): Promise<Participant | null> {
    return participantOf(this.ctx.repo, this.ctx.store.db, this.ctx.self().id, event, caller);
  }

  private isSubmitter(eventId: string, participantId: string): Promise<boolean> {
    return isSubmitter(this.ctx.repo, this.ctx.store.db, eventId, participantId);
  }

  private mustGet(eventId: string): Promise<StoredEvent> {
    return mustGet(this.ctx.repo, this.ctx.store.db, eventId);
  }

  private async sitesOf(eventId: string): Promise<readonly Site[]> {
    const event = await this.ctx.repo.getEvent(this.ctx.store.db, eventId);
    return event?.record.sites ?? [this.ctx.self()];
  }
}
