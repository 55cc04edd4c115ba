/** Group photo events: the ones this account organises, and a form to create one. */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, api } from '../api/client';
import type { MosaicEvent } from '../api/types';
import { useAuth } from '../auth';
import { EmptyState, ErrorNote, Spinner, messageOf } from '../components/common';
import { Field, FormOutcome, useSubmit } from '../components/form';
import { EventsIcon } from '../components/icons';
import { PHASE_LABEL } from '../lib/event-rules';
import { paths } from '../lib/routes';
import { Link, navigate } from '../router';

export function EventsPage() {
  const { handleError } = useAuth();
  const [events, setEvents] = useState<MosaicEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unavailable, setUnavailable] = useState(false);

  const load = useCallback(async () => {
    try {
      setEvents(await api.events());
      setError(null);
    } catch (e) {
      handleError(e);
      if (e instanceof ApiError && e.status === 404) setUnavailable(true);
      else setError(messageOf(e));
      setEvents([]);
    }
  }, [handleError]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="events">
      <h1>Events</h1>
      <p className="muted lead">
        Invite people to add photos to a shared montage; it is published only when everyone accepts.
      </p>
      {unavailable ? (
        <EmptyState title="Events are not available on this node yet" icon={<EventsIcon />}>
          <p className="muted">This node’s version does not serve the events API.</p>
        </EmptyState>
      ) : (
        <div className="events-layout">
          <CreateEvent />
          <section aria-label="Your events">
            <h2>Your events</h2>
            {error && <ErrorNote error={error} onRetry={() => void load()} />}
            {events === null ? (
              <Spinner />
            ) : events.length === 0 ? (
              <p className="muted">No events yet: create the first one.</p>
            ) : (
              <ul className="event-list">
                {events.map((e) => (
                  <li key={e.id}>
                    <Link to={paths.event(e.id)} className="event-item">
                      <span className="event-item-title">{e.title}</span>
                      <span className={`phase phase-${e.phase}`}>{PHASE_LABEL[e.phase]}</span>
                      <span className="muted small">
                        {e.participants.length} participant
                        {e.participants.length === 1 ? '' : 's'} · {e.photos.length} photo
                        {e.photos.length === 1 ? '' : 's'} · started at {e.origin}
                      </span>
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      )}
    </div>
  );
}

function CreateEvent() {
  const { handleError } = useAuth();
  const [title, setTitle] = useState('');
  const [votingSeconds, setVotingSeconds] = useState('90');
  const [maxParticipants, setMaxParticipants] = useState('10');
  const form = useSubmit(
    async () => {
      const created = await api.createEvent({
        title: title.trim(),
        votingSeconds: Number(votingSeconds),
        maxParticipants: Number(maxParticipants),
      });
      navigate(paths.event(created.id));
    },
    { onError: handleError },
  );

  return (
    <form className="card create-event" {...form.formProps}>
      <h2>New event</h2>
      <Field
        label="Title"
        name="title"
        required
        maxLength={200}
        placeholder="Summer party 2026"
        value={title}
        onValue={setTitle}
      />
      <div className="field-row">
        <Field
          label="Voting time (s)"
          name="votingSeconds"
          type="number"
          min={10}
          max={3600}
          value={votingSeconds}
          onValue={setVotingSeconds}
        />
        <Field
          label="Max. people"
          name="maxParticipants"
          type="number"
          min={2}
          max={100}
          value={maxParticipants}
          onValue={setMaxParticipants}
        />
      </div>
      <FormOutcome outcome={form.outcome} />
      <button type="submit" className="btn btn-primary" disabled={form.busy}>
        {form.busy ? 'Creating…' : 'Create event'}
      </button>
    </form>
  );
}
