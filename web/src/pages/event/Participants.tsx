/** The people of the event; the organiser may remove one, or delete the event. */
import { useState } from 'react';
import { api } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { messageOf } from '../../components/common';
import { organiserMayChange } from '../../lib/event-rules';
import { navigate } from '../../router';

export function Participants({
  event,
  onRemoved,
}: {
  event: MosaicEvent;
  /** After a removal, with the removed person's name. */
  onRemoved: (name: string) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const canChange = organiserMayChange(event);
  const remove = async (id: string, name: string) => {
    if (!window.confirm(`Remove ${name} from the event? Their photos leave the montage.`)) return;
    setBusy(id);
    setError(null);
    try {
      await api.removeParticipant(event.id, id);
      onRemoved(name);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="card" aria-label="Participants">
      <h2>
        People{' '}
        <span className="muted small">
          ({event.participants.length} of max. {event.maxParticipants})
        </span>
      </h2>
      {event.participants.length <= 1 ? (
        <p className="muted small">Nobody else has joined yet: send the invite link.</p>
      ) : null}
      <ul className="people">
        {event.participants.map((p) => (
          <li key={p.id} data-testid="participant">
            <span className="avatar" aria-hidden="true">
              {p.name.slice(0, 1).toUpperCase()}
            </span>
            <span className="people-name">
              {p.name}
              <span className="muted small">
                {' '}
                at {p.site}
                {p.id === event.me.id ? ' (you)' : ''}
              </span>
            </span>
            <span className="people-flags">
              {p.submitted && <span className="flag">photo</span>}
              {p.voted && <span className="flag flag-voted">voted</span>}
              {/* By id: two people may share a name (the organiser's included). */}
              {canChange && p.id !== event.me.id && (
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={busy !== null}
                  onClick={() => void remove(p.id, p.name)}
                >
                  {busy === p.id ? 'Removing…' : 'Remove'}
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {canChange && <DeleteEvent event={event} />}
    </section>
  );
}

function DeleteEvent({ event }: { event: MosaicEvent }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    if (!window.confirm(`Delete “${event.title}” at every site? This cannot be undone.`)) return;
    setBusy(true);
    setError(null);
    try {
      await api.deleteEvent(event.id);
      navigate('/events');
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };
  return (
    <div className="danger-zone">
      <button
        type="button"
        className="btn btn-danger"
        disabled={busy}
        onClick={() => void remove()}
      >
        {busy ? 'Deleting…' : 'Delete the event'}
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
