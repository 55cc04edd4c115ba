/**
 * Changes to an event that every site must prepare, by 2PC coordinated here: a photo (any
 * participant), removing a participant or deleting the event (the organiser, before voting
 * starts). Busy or lagging sites are retried for a while; a site in voting refuses for good.
 */
import { randomBytes } from 'node:crypto';
import type { StagedBlob } from '../blobs/blob-store.js';
import { ConflictError, ForbiddenError, NotFoundError, UnavailableError } from '../core/errors.js';
import { nextPhotoRound, uploadsOpen } from './core/event-phase.js';
import type { NoReason, TxBody } from './core/types.js';
import { mustGet, participantOf, type Caller } from './event-access.js';
import { backoff, sleep, type EventContext } from './event.context.js';
import type { StoredEvent } from './event.repository.js';
import { changeRefusal, why } from './event-words.js';
import type { TxCoordinator } from './two-phase.coordinator.js';

/** How long a change keeps retrying a transaction that met a busy or lagging site. */
const RETRY_MS = 10_000;
const RETRYABLE = new Set(['busy', 'lagging', 'stale']);

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

export class EventChanges {
  constructor(
    private readonly ctx: EventContext,
    private readonly coordinator: TxCoordinator,
  ) {}

  /** Adds a photo (already staged in the event photo store) by 2PC across every site. */
  async addPhoto(eventId: string, caller: Caller, staged: StagedBlob): Promise<void> {
    const { repo, store } = this.ctx;
    const event = await mustGet(repo, store.db, eventId);
    const me = await participantOf(repo, store.db, this.ctx.self().id, event, caller);
    if (!me) {
      await this.ctx.photos.discard(staged);
      throw new ForbiddenError('Join the event with its invite before adding photos.');
    }
    const closed = uploadsOpen(event.state);
    if (closed !== null) {
      await this.ctx.photos.discard(staged);
      throw new ConflictError(changeRefusal(closed));
    }
    await this.ctx.photos.commit(staged); // durable before any site is asked to prepare
    const self = this.ctx.self();
    await this.runChange(eventId, 'The photo', (current) => ({
      kind: 'photo',
      photo: {
        hash: staged.hash,
        size: staged.size,
        participantId: me.id,
        participantName: me.name,
        siteId: self.id,
        siteName: self.name,
        baseVersion: current.state.version,
        round: nextPhotoRound(current.state),
        addedAt: this.ctx.now(),
      },
    }));
  }

  /**
   * The organiser removes a participant, before voting starts (by 2PC: every site must agree).
   * Their photos leave the next montage version.
   */
  async removeParticipant(eventId: string, caller: Caller, participantId: string): Promise<void> {
    const { repo, store } = this.ctx;
    const event = await mustGet(repo, store.db, eventId);
    this.mustOrganise(event, caller);
    const target = (await repo.participants(store.db, eventId)).find((p) => p.id === participantId);
    if (!target) throw new NotFoundError('Participant');
    if (target.username === event.record.organiser) {
      throw new ConflictError('The organiser cannot be removed; delete the event instead.');
    }
    await this.runChange(eventId, 'The removal', (current) => ({
      kind: 'remove',
      removal: {
        participantId,
        baseVersion: current.state.version,
        round: nextPhotoRound(current.state),
        removedAt: this.ctx.now(),
      },
    }));
  }

  /** The organiser deletes the event, before voting starts (by 2PC at every site). */
  async deleteEvent(eventId: string, caller: Caller): Promise<void> {
    const event = await mustGet(this.ctx.repo, this.ctx.store.db, eventId);
    this.mustOrganise(event, caller);
    await this.runChange(eventId, 'The deletion', () => ({
      kind: 'delete',
      deletedAt: this.ctx.now(),
    }));
  }

  /**
   * Runs a change that every site must prepare (a photo, a removal, a deletion), retrying for a
   * while when a site is busy with another change or catching up; refused for good once voting
   * started or the event is published.
   */
  private async runChange(
    eventId: string,
    what: string,
    bodyFor: (current: StoredEvent) => TxBody,
  ): Promise<void> {
    const started = this.ctx.now();
    for (let attempt = 0; ; attempt++) {
      const current = await mustGet(this.ctx.repo, this.ctx.store.db, eventId);
      const shut = uploadsOpen(current.state);
      if (shut !== null) throw new ConflictError(changeRefusal(shut));
      const result = await this.coordinator.run(
        newId('tx'),
        eventId,
        bodyFor(current),
        current.record.sites,
      );
      if (result === null) throw new UnavailableError('The node is shutting down; try again.');
      if (result.decision === 'commit') return;
      const final = result.refusals.find((r) => r.reason === 'voting' || r.reason === 'closed');
      if (final) throw new ConflictError(changeRefusal(final.reason as NoReason));
      // Retry only on conflicts that pass (another change being decided, a site catching up);
      // a site that did not answer at all is not waited for here.
      const transient = result.refusals.every((r) => RETRYABLE.has(r.reason));
      if (!transient || this.ctx.now() - started > RETRY_MS) {
        throw new ConflictError(
          `${what} could not be agreed by every site: ${why(result.refusals)}`,
        );
      }
      await sleep(backoff(attempt, 1_000));
    }
  }

  private mustOrganise(event: StoredEvent, caller: Caller): void {
    if (caller.principal?.username !== event.record.organiser) {
      throw new ForbiddenError('Only the organiser of this event may do this.');
    }
  }
}
