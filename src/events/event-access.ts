/**
 * Who the caller is to an event, at this site: the lookups every event operation opens with.
 * Plain functions over the repository (no state of their own); `db` is `store.db` or a
 * transaction.
 */
import type { Principal } from '../accounts/principal.js';
import { NotFoundError } from '../core/errors.js';
import type { Executor } from '../storage/metadata/dialect.js';
import type { EventRepository, Participant, StoredEvent } from './event.repository.js';
import type { Role } from './event.view.js';

/** Who is asking: a signed-in user and/or the participant ids of their signed cookie. */
export interface Caller {
  readonly principal: Principal | null;
  readonly participantIds: ReadonlyMap<string, string>;
}

/** The event, unless unknown here or deleted (404 either way). */
export async function mustGet(
  repo: EventRepository,
  db: Executor,
  eventId: string,
): Promise<StoredEvent> {
  const event = await repo.getEvent(db, eventId);
  if (!event || event.deletedAt !== null) throw new NotFoundError('Event');
  return event;
}

/**
 * The caller's participant record: by the participant cookie (set by joining or recovering,
 * valid at any site the participant is known), else by the signed-in account (the organiser,
 * or anyone who joined while signed in), preferring the one who joined at this site. Removed
 * participants are no one's.
 */
export async function participantOf(
  repo: EventRepository,
  db: Executor,
  selfId: string,
  event: StoredEvent,
  caller: Caller,
): Promise<Participant | null> {
  const all = await repo.participants(db, event.record.id);
  const byCookie = caller.participantIds.get(event.record.id);
  const username = caller.principal?.username;
  const mine = username === undefined ? [] : all.filter((p) => p.username === username);
  return (
    all.find((p) => p.id === byCookie) ?? mine.find((p) => p.siteId === selfId) ?? mine[0] ?? null
  );
}

export async function roleOf(
  repo: EventRepository,
  db: Executor,
  selfId: string,
  event: StoredEvent,
  caller: Caller,
): Promise<Role> {
  if (caller.principal?.username === event.record.organiser) return 'organiser';
  return (await participantOf(repo, db, selfId, event, caller)) ? 'participant' : 'visitor';
}

/** Whether the participant has a photo in the current montage. */
export async function isSubmitter(
  repo: EventRepository,
  db: Executor,
  eventId: string,
  participantId: string,
): Promise<boolean> {
  return (await repo.photos(db, eventId)).some((p) => p.photo.participantId === participantId);
}
