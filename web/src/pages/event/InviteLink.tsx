/**
 * The event's invite link, and for the organiser a button that replaces it: the old link then
 * stops working at every site (people already in stay), which is how a leaked link, or one a
 * removed person still holds, is withdrawn.
 */
import { useState } from 'react';
import { api } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { messageOf } from '../../components/common';
import { LinkBox } from '../../components/LinkBox';
import { isFull, organiserMayReplaceInvite } from '../../lib/event-rules';

/** What the page says once a new link is issued; `waiting`: sites that had not taken it yet. */
export function replacedNote(waiting: readonly string[]): string {
  const where =
    waiting.length === 0
      ? 'at any site'
      : `at any site but ${waiting.join(', ')}, which cannot be reached now and will refuse it as soon as it is back`;
  return `New invite link issued: the old link no longer works ${where}. People who already joined stay in; send the new link to anyone still to join.`;
}

export function InviteLink({
  event,
  removed,
  onChange,
}: {
  event: MosaicEvent;
  /** The name of the person the organiser just removed, if any: they still hold the link. */
  removed: string | null;
  onChange: (event: MosaicEvent) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<readonly string[] | null>(null);
  const mayReplace = organiserMayReplaceInvite(event);
  const replace = async () => {
    const question =
      'Issue a new invite link? The current link stops working at every site; people who already joined stay in.';
    if (!window.confirm(question)) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api.newInvite(event.id);
      setWaiting(answer.waitingSites);
      onChange(answer.event);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  if (event.inviteUrl === null) return null;
  return (
    <div className="invite-link">
      {isFull(event) ? (
        <p className="note" role="status" data-testid="event-full">
          This event is full ({event.participants.length} of max. {event.maxParticipants}): no one
          else can join, so there is no invite link to share.
        </p>
      ) : (
        <LinkBox id="invite-url" label="Invite link" url={event.inviteUrl} />
      )}
      {waiting !== null && (
        <p className="note" role="status" data-testid="invite-replaced">
          {replacedNote(waiting)}
        </p>
      )}
      {waiting === null && removed !== null && mayReplace && (
        <p className="note" role="status" data-testid="removed-hint">
          {removed} was removed, but still has the invite link and could join again with it. Issue a
          new link to stop that.
        </p>
      )}
      {mayReplace && (
        <button type="button" className="btn" disabled={busy} onClick={() => void replace()}>
          {busy ? 'Issuing a new link…' : 'New invite link'}
        </button>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
