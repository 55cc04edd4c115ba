/**
 * Who takes part in an event, at one site: joining by invite, coming back with the personal
 * recovery code, and the join notices other sites send (every site records every participant).
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError, ConflictError, InviteRefusedError } from '../core/errors.js';
import type { Site } from './core/types.js';
import { inviteAccepted } from './core/invite.js';
import { mustGet, participantOf, type Caller } from './event-access.js';
import { INVITE_REFUSED } from './event-words.js';
import type { EventContext } from './event.context.js';
import type { Executor } from '../storage/metadata/dialect.js';
import type { Participant } from './event.repository.js';
import { PATHS } from './event-messages.js';
import type { EventView } from './event.view.js';

/** What joining answers: the view, and the personal recovery code, shown only this once. */
export interface Joined {
  readonly view: EventView;
  readonly participantId: string;
  readonly recoveryCode: string | null;
}

/** A participant as another site's join notice carries it (older sites omit the last two). */
export type ParticipantNotice = Omit<Participant, 'username' | 'recoveryHash'> & {
  username?: string | null | undefined;
  recoveryHash?: string | null | undefined;
};

type ViewOf = (eventId: string, caller: Caller) => Promise<EventView>;

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

export class EventPeople {
  constructor(
    private readonly ctx: EventContext,
    private readonly view: ViewOf,
  ) {}

  async join(
    eventId: string,
    caller: Caller,
    input: { invite: string; name: string },
  ): Promise<Joined> {
    const { repo, store } = this.ctx;
    const event = await mustGet(repo, store.db, eventId);
    if (!inviteAccepted(event.record, input.invite)) throw new InviteRefusedError(INVITE_REFUSED);
    const existing = await participantOf(repo, store.db, this.ctx.self().id, event, caller);
    if (existing) {
      return {
        view: await this.view(eventId, caller),
        participantId: existing.id,
        recoveryCode: null,
      };
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
    const notices = await store.transaction(async (trx) => {
      // The event's row locked: two joins at once (two processes) cannot both take the last place,
      // and a new invite being prepared here (it locks the row too) is either before this join
      // (refused) or after it (the participant was in before the link changed).
      const locked = await repo.lockEvent(trx, eventId);
      if (locked === null || !inviteAccepted(locked.record, input.invite)) {
        throw new InviteRefusedError(INVITE_REFUSED);
      }
      if ((await repo.participants(trx, eventId)).length >= event.record.maxParticipants) {
        throw new ConflictError(
          `The event is full: it takes at most ${event.record.maxParticipants} participants.`,
        );
      }
      return this.addParticipant(trx, eventId, event.record.sites, participant);
    });
    void this.ctx.sender.deliverNow(notices, undefined, false);
    const ids = new Map(caller.participantIds).set(eventId, participant.id);
    return {
      view: await this.view(eventId, { ...caller, participantIds: ids }),
      participantId: participant.id,
      recoveryCode,
    };
  }

  /**
   * A participant back on a new device or browser: their personal recovery code (from the link
   * shown when they joined) restores them, at any site the join has reached.
   */
  async recover(eventId: string, caller: Caller, code: string): Promise<Joined> {
    const { repo, store } = this.ctx;
    await mustGet(repo, store.db, eventId);
    const hash = hashCode(code);
    const found = (await repo.participants(store.db, eventId)).find(
      (p) => p.recoveryHash !== null && p.recoveryHash === hash,
    );
    if (!found) {
      throw new AppError(
        404,
        'not_found',
        'This recovery link is not known here (yet): check the link, or try again in a moment.',
      );
    }
    const ids = new Map(caller.participantIds).set(eventId, found.id);
    return {
      view: await this.view(eventId, { ...caller, participantIds: ids }),
      participantId: found.id,
      recoveryCode: null,
    };
  }

  /** Another site's join notice (already authenticated and validated). */
  async onParticipantNotice(eventId: string, p: ParticipantNotice): Promise<void> {
    const { repo, store } = this.ctx;
    const known = await store.transaction(async (trx) => {
      const event = await repo.lockEvent(trx, eventId);
      if (!event) return false;
      if (event.deletedAt !== null) return true; // deleted: acknowledge and drop
      await repo.insertParticipant(trx, eventId, {
        ...p,
        username: p.username ?? null,
        recoveryHash: p.recoveryHash ?? null,
      });
      return true;
    });
    if (!known) throw new ConflictError('Unknown event here yet; send again later.');
  }

  /**
   * Records a participant here and tells every other site (outbox), in the caller's
   * transaction. Returns the outbox rows of the notices.
   */
  private async addParticipant(
    trx: Executor,
    eventId: string,
    sites: readonly Site[],
    p: Participant,
  ): Promise<number[]> {
    const { repo, outbox } = this.ctx;
    const selfId = this.ctx.self().id;
    await repo.insertParticipant(trx, eventId, p);
    const notice = {
      id: p.id,
      name: p.name,
      siteId: p.siteId,
      siteName: p.siteName,
      joinedAt: p.joinedAt,
      username: p.username,
      recoveryHash: p.recoveryHash,
    };
    const ids: number[] = [];
    for (const site of sites) {
      if (site.id === selfId) continue;
      const message = { eventId, participant: notice };
      ids.push(await outbox.enqueue(trx, site, PATHS.participant, message, this.ctx.now()));
    }
    return ids;
  }
}

const hashCode = (code: string): string => createHash('sha256').update(code).digest('hex');
