/**
 * A new invite link for an event, issued by its organiser (or an admin): the old link stops
 * letting anyone in at every site, the people already in keep their place. It travels as an
 * `invite` 2PC transaction coordinated here that never aborts (core/invite.ts): every site
 * applies it once prepared, and a site that is down gets it when it is back (the coordinator
 * prepares again until it says yes; after a restart here, recovery does).
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, ForbiddenError, UnavailableError } from '../core/errors.js';
import { inviteChangeOpen, nextInvite } from './core/invite.js';
import { mustGet, type Caller } from './event-access.js';
import { sleep, type EventContext } from './event.context.js';
import type { EventView } from './event.view.js';
import { changeRefusal } from './event-words.js';
import type { TxCoordinator } from './two-phase.coordinator.js';

/** How long the request waits for every site to take the new invite before it answers. */
const ANSWER_WITHIN_MS = 4_000;

/** What issuing a new invite answers. */
export interface NewInvite {
  /** The event, its `inviteUrl` the new link (in effect here already). */
  readonly view: EventView;
  /**
   * The sites that had not taken the new invite when the request answered (down or cut off):
   * each still takes the old one until it hears of the new one, which it will when it is back.
   */
  readonly waiting: readonly string[];
}

type ViewOf = (eventId: string, caller: Caller) => Promise<EventView>;

const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

export class EventInvites {
  constructor(
    private readonly ctx: EventContext,
    private readonly coordinator: TxCoordinator,
    private readonly view: ViewOf,
  ) {}

  async rotate(eventId: string, caller: Caller): Promise<NewInvite> {
    const { repo, store } = this.ctx;
    const event = await mustGet(repo, store.db, eventId);
    const principal = caller.principal;
    if (principal?.username !== event.record.organiser && principal?.role !== 'admin') {
      throw new ForbiddenError('Only the organiser of this event (or an admin) may do this.');
    }
    const shut = inviteChangeOpen(event.state);
    if (shut === 'closed') {
      throw new ConflictError(
        'The event is published: nobody can join it any more, so its invite link needs no replacing.',
      );
    }
    if (shut !== null) throw new ConflictError(changeRefusal(shut));
    const body = {
      kind: 'invite' as const,
      invite: nextInvite(event.record, randomBytes(18).toString('base64url'), this.ctx.now()),
    };
    // This site prepares (and so applies) the new invite in the transaction's first commit.
    const done = this.coordinator.run(newId('tx'), eventId, body, event.record.sites);
    done.catch((err: unknown) => {
      this.ctx.log.error({ err, eventId }, 'replacing the invite failed');
    });
    const decided = await Promise.race([done, sleep(ANSWER_WITHIN_MS).then(() => undefined)]);
    if (decided === null) throw new UnavailableError('The node is shutting down; try again.');
    const progress = decided === undefined ? this.coordinator.progress(eventId, 'invite') : null;
    const waiting = (progress ?? []).filter((s) => s.state === 'waiting').map((s) => s.site.name);
    this.ctx.log.info({ eventId, waiting }, 'invite link replaced');
    return { view: await this.view(eventId, caller), waiting };
  }
}
