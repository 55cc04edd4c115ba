/**
 * One event, at /e/:id: the invite page (?invite=… lets a person join with a name), the
 * participants' workspace (upload, the current montage and its version, who has voted, the
 * voting countdown, accept/reject), and the public page once the montage is published.
 * It polls GET /api/events/:id every 2 s.
 */
import { useCallback, useState, type SyntheticEvent } from 'react';
import { ApiError, api, montageUrl } from '../api/client';
import { sendMultipart } from '../api/upload';
import type { MosaicEvent } from '../api/types';
import { EmptyState, ErrorNote, ProgressBar, Spinner, messageOf } from '../components/common';
import { CheckIcon, CopyIcon, EventsIcon, Logo } from '../components/icons';
import { usePolling, useNow } from '../hooks';
import { formatCountdown, fractionLeft, remainingMs } from '../lib/countdown';
import {
  PHASE_LABEL,
  canSeeMontage,
  isMember,
  organiserMayChange,
  uploadBlocked,
  voteBlocked,
} from '../lib/event-rules';
import { formatAgo, formatDate, formatTime } from '../lib/format';
import { keepRecoveryUrl, recoveryUrlOf } from '../lib/recovery';
import { navigate, useLocation } from '../router';

const POLL_MS = 2000;

type Load =
  | { readonly state: 'loading' }
  | { readonly state: 'ok'; readonly event: MosaicEvent }
  | { readonly state: 'error'; readonly status: number; readonly message: string };

export function EventPage({ id }: { id: string }) {
  const { search, pathname } = useLocation();
  const invite = search.get('invite');
  const recover = search.get('recover');
  const [load, setLoad] = useState<Load>({ state: 'loading' });

  const refresh = useCallback(async () => {
    try {
      // A recovery link restores the participant (sets the cookie) before anything else.
      const event =
        recover !== null ? await api.recoverEvent(id, recover) : await api.event(id, invite);
      if (recover !== null) {
        keepRecoveryUrl(window.localStorage, id, window.location.href);
        navigate(pathname, { replace: true });
      }
      setLoad({ state: 'ok', event });
    } catch (e) {
      setLoad((current) =>
        // A passing network failure keeps what is shown; a refusal replaces it.
        current.state === 'ok' && e instanceof ApiError && e.status === 0
          ? current
          : {
              state: 'error',
              status: e instanceof ApiError ? e.status : 0,
              message: messageOf(e),
            },
      );
    }
  }, [id, invite, recover, pathname]);

  const published = load.state === 'ok' && load.event.phase === 'published';
  usePolling(refresh, POLL_MS, !published);

  const joined = (event: MosaicEvent) => {
    if (event.recoveryUrl) keepRecoveryUrl(window.localStorage, event.id, event.recoveryUrl);
    setLoad({ state: 'ok', event });
    // The invite has done its job: the participant cookie now identifies this person.
    navigate(pathname, { replace: true });
  };

  if (load.state === 'loading') return <Spinner label="Loading the event…" />;
  if (load.state === 'error') {
    if (invite !== null) return <JoinCard id={id} invite={invite} title={null} onJoined={joined} />;
    return (
      <EmptyState
        title={
          recover !== null
            ? 'This personal link did not work'
            : load.status === 404
              ? 'No such event'
              : 'This event is private'
        }
        icon={<EventsIcon />}
      >
        <p className="muted">
          {recover !== null
            ? load.message
            : load.status === 403
              ? 'Open the invite link you were sent to join it.'
              : load.status === 404
                ? 'The link may be mistyped, or the event is not known at this node yet.'
                : load.message}
        </p>
      </EmptyState>
    );
  }

  const event = load.event;
  if (event.phase === 'published') return <PublishedEvent event={event} />;
  if (!isMember(event) && invite !== null) {
    return <JoinCard id={id} invite={invite} title={event.title} onJoined={joined} />;
  }
  return (
    <EventWorkspace
      event={event}
      onChange={(e) => {
        setLoad({ state: 'ok', event: e });
      }}
    />
  );
}

function JoinCard({
  id,
  invite,
  title,
  onJoined,
}: {
  id: string;
  invite: string;
  title: string | null;
  onJoined: (event: MosaicEvent) => void;
}) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onJoined(await api.joinEvent(id, invite, name.trim()));
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 403
          ? 'This invite link is not valid (any more).'
          : caught instanceof ApiError && caught.status === 409
            ? 'This event is full.'
            : messageOf(caught),
      );
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form className="login-card" onSubmit={(e) => void submit(e)}>
        <div className="login-brand">
          <Logo size={40} />
          <p className="muted">You are invited to</p>
          <h1>{title ?? 'a photo event'}</h1>
          <p className="muted small">
            Add your photos to a shared montage; it is published when everyone accepts it.
          </p>
          <p className="muted small">
            Joined before on another phone or browser? Open the personal link you were given then:
            joining again here makes you a new, different participant.
          </p>
        </div>
        <label className="field">
          <span>Your name</span>
          <input
            name="name"
            required
            maxLength={64}
            autoComplete="nickname"
            value={name}
            onChange={(e) => {
              setName(e.target.value);
            }}
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Joining…' : 'Join the event'}
        </button>
      </form>
    </div>
  );
}

function EventWorkspace({
  event,
  onChange,
}: {
  event: MosaicEvent;
  onChange: (event: MosaicEvent) => void;
}) {
  const recoveryUrl = recoveryUrlOf(window.localStorage, event.id);
  return (
    <div className="event">
      <header className="event-head">
        <div>
          <h1>{event.title}</h1>
          <p className="muted small">
            Round {event.round} · started at {event.origin}
            {event.me.name && <> · you are {event.me.name}</>}
          </p>
        </div>
        <span className={`phase phase-${event.phase}`} data-testid="phase">
          {PHASE_LABEL[event.phase]}
        </span>
      </header>
      <WaitingSites event={event} />
      {event.inviteUrl && <LinkBox id="invite-url" label="Invite link" url={event.inviteUrl} />}
      {recoveryUrl && (
        <LinkBox
          id="recovery-url"
          secret
          label="Your personal link"
          url={recoveryUrl}
          note="Keep it to yourself: it brings you back to this event as yourself on another phone or browser, with your photos and your vote."
        />
      )}
      <div className="event-layout">
        <section className="card montage-card" aria-label="Montage">
          <div className="montage-head">
            <h2>Montage</h2>
            <span className="badge" data-testid="montage-version">
              {event.montageVersion === 0 ? 'no photo yet' : `version ${event.montageVersion}`}
            </span>
          </div>
          <Montage event={event} />
          <VotePanel event={event} onChange={onChange} />
        </section>
        <div className="event-side">
          <PhotoUpload event={event} onChange={onChange} />
          <Participants
            event={event}
            onRemoved={() => {
              void api.event(event.id).then(onChange, () => undefined);
            }}
          />
        </div>
      </div>
    </div>
  );
}

/**
 * Which sites the event waits for, and since when: while it is being set up (a site was down
 * when it was created), or while the votes of a round are gathered from every site.
 */
function WaitingSites({ event }: { event: MosaicEvent }) {
  const now = useNow(5000, true);
  const waiting = (event.sites ?? []).filter((s) => s.state === 'waiting');
  if (waiting.length === 0) return null;
  const since = (iso: string | null) =>
    iso === null ? '' : ` since ${formatTime(iso)} (${formatAgo(iso, now)})`;
  const what =
    event.phase === 'creating'
      ? 'Photos can be added once every site has the event.'
      : 'The result is announced once every site has answered.';
  return (
    <div className="waiting-sites" role="status" data-testid="waiting-sites">
      <p>
        <strong>
          {event.phase === 'creating' ? 'Setting up the event' : 'Counting the votes'}:
        </strong>{' '}
        waiting for{' '}
        {waiting.map((s, i) => (
          <span key={s.name}>
            {i > 0 && (i === waiting.length - 1 ? ' and ' : ', ')}
            site <strong>{s.name}</strong>
            {since(s.since)}
          </span>
        ))}
        .
      </p>
      <p className="muted small">
        {what} Nothing is lost meanwhile: it carries on by itself when the site is back.
      </p>
    </div>
  );
}

function Montage({ event }: { event: MosaicEvent }) {
  if (event.montageVersion === 0) {
    return <div className="montage-empty muted">The montage appears with the first photo.</div>;
  }
  if (!canSeeMontage(event)) {
    return (
      <div className="montage-empty muted">
        Add a photo to see the montage ({event.photos.length} so far).
      </div>
    );
  }
  return (
    <img
      key={event.montageVersion}
      className="montage"
      src={montageUrl(event.id, event.montageVersion)}
      alt={`Montage of “${event.title}”, version ${event.montageVersion}`}
    />
  );
}

function VotePanel({
  event,
  onChange,
}: {
  event: MosaicEvent;
  onChange: (event: MosaicEvent) => void;
}) {
  const voting = event.phase === 'voting';
  const now = useNow(250, voting);
  const left = remainingMs(event.deadline, now);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const vote = async (decision: 'accept' | 'reject') => {
    setBusy(true);
    setError(null);
    try {
      onChange(await api.vote(event.id, event.montageVersion, decision));
    } catch (e) {
      setError(
        e instanceof ApiError && e.code === 'stale_version'
          ? 'A new photo changed the montage: look at the new version before voting.'
          : messageOf(e),
      );
    } finally {
      setBusy(false);
    }
  };

  const acceptBlocked = voteBlocked(event, 'accept');
  const rejectBlocked = voteBlocked(event, 'reject');
  return (
    <div className="vote">
      {voting && left !== null && (
        <div className="countdown" role="timer" aria-label="Time left to vote">
          <div className="countdown-bar">
            <div
              className="countdown-fill"
              style={{ width: `${fractionLeft(left, event.votingSeconds) * 100}%` }}
            />
          </div>
          <span className="countdown-text" data-testid="countdown">
            {formatCountdown(left)}
          </span>
        </div>
      )}
      <p className="small" data-testid="vote-rules">
        {voting
          ? `${event.votes.cast} of ${event.votes.needed} votes in.`
          : event.phase === 'aborted'
            ? 'The last round did not pass. Add a photo for a new version, then vote again.'
            : `Accepting the current version starts a vote of ${formatSeconds(event.votingSeconds)} for everyone who added a photo.`}
        {voting && event.deadline && <> Voting closes at {formatTime(event.deadline)}.</>}
        {event.me.voted && ' You have voted.'}
      </p>
      <p className="muted small">
        The montage is published only if everyone who added a photo accepts it in time; one reject,
        or a missing vote at the deadline, ends the round and photos can be added again.
      </p>
      {event.montageVersion > 0 && (
        <div className="actions">
          <button
            type="button"
            className="btn btn-accept"
            disabled={busy || acceptBlocked !== null}
            title={acceptBlocked ?? `Accept version ${event.montageVersion}`}
            onClick={() => void vote('accept')}
          >
            <CheckIcon /> Accept
          </button>
          <button
            type="button"
            className="btn btn-danger-ghost"
            disabled={busy || rejectBlocked !== null}
            title={rejectBlocked ?? `Reject version ${event.montageVersion}`}
            onClick={() => void vote('reject')}
          >
            Reject
          </button>
        </div>
      )}
      {event.montageVersion > 0 && acceptBlocked && rejectBlocked && !event.me.voted && (
        <p className="muted small">{acceptBlocked}</p>
      )}
      {error && <ErrorNote error={error} />}
    </div>
  );
}

/** "90 seconds", "2 minutes", "1 hour 30 minutes". */
function formatSeconds(total: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (total < 120 && total % 60 !== 0) return plural(total, 'second');
  const h = Math.floor(total / 3600);
  const m = Math.round((total % 3600) / 60);
  if (h === 0) return plural(m, 'minute');
  return m === 0 ? plural(h, 'hour') : `${plural(h, 'hour')} ${plural(m, 'minute')}`;
}

/** The server's own sentence for a refused upload (its error shape), else a plain one. */
function uploadRefusal(status: number, body: unknown): string {
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  if (typeof message === 'string' && message.length > 0) return message;
  if (status === 409) return 'Photos cannot be added right now: try again in a moment.';
  if (status === 0) return 'The node could not be reached: check the connection and try again.';
  return 'The photo was not added: try again in a moment.';
}

function PhotoUpload({
  event,
  onChange,
}: {
  event: MosaicEvent;
  onChange: (event: MosaicEvent) => void;
}) {
  const blocked = uploadBlocked(event);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const send = async (file: File) => {
    setError(null);
    setProgress(0);
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const { status, body } = await sendMultipart(
        `/api/events/${encodeURIComponent(event.id)}/photos`,
        form,
        setProgress,
      ).promise;
      if (status === 201) onChange(body as MosaicEvent);
      else if (status === 413) setError('This photo is too large.');
      else if (status === 415) setError('This file is not an image the montage can use.');
      else setError(uploadRefusal(status, body));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setProgress(null);
    }
  };

  return (
    <section className="card" aria-label="Add a photo">
      <h2>Your photos</h2>
      <p className="muted small">
        {event.me.submitted
          ? blocked
            ? 'You have added a photo.'
            : 'You have added a photo. Add another?'
          : 'Add one or more photos.'}
      </p>
      <label className={blocked || progress !== null ? 'btn btn-disabled' : 'btn btn-primary'}>
        {progress === null ? 'Add a photo' : 'Uploading…'}
        <input
          className="visually-hidden"
          type="file"
          accept="image/*"
          disabled={blocked !== null || progress !== null}
          data-testid="event-file-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) void send(file);
          }}
        />
      </label>
      {blocked && <p className="muted small">{blocked}</p>}
      {progress !== null && <ProgressBar value={progress} label="Photo upload" />}
      {error && <ErrorNote error={error} />}
    </section>
  );
}

function Participants({ event, onRemoved }: { event: MosaicEvent; onRemoved: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const canChange = organiserMayChange(event);
  const remove = async (id: string, name: string) => {
    if (!window.confirm(`Remove ${name} from the event? Their photos leave the montage.`)) return;
    setBusy(id);
    setError(null);
    try {
      await api.removeParticipant(event.id, id);
      onRemoved();
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
              <span className="muted small"> at {p.site}</span>
            </span>
            <span className="people-flags">
              {p.submitted && <span className="flag">photo</span>}
              {p.voted && <span className="flag flag-voted">voted</span>}
              {canChange && p.name !== event.me.name && (
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

function LinkBox({
  id,
  label,
  url,
  note,
  secret = false,
}: {
  id: string;
  label: string;
  url: string;
  note?: string;
  /** A personal link (not to be shared): shown apart from the invite. */
  secret?: boolean;
}) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      // No clipboard (plain http on another host): select the text for a manual copy.
      const input = document.getElementById(id);
      if (input instanceof HTMLInputElement) input.select();
    }
  };
  return (
    <div className={secret ? 'invite invite-secret' : 'invite'}>
      <label htmlFor={id} className="small">
        {label}
      </label>
      <div className="invite-row">
        <input
          id={id}
          readOnly
          value={url}
          onFocus={(e) => {
            e.target.select();
          }}
        />
        <button type="button" className="btn" onClick={() => void copy()}>
          {copied ? <CheckIcon /> : <CopyIcon />} {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {note && <p className="muted small">{note}</p>}
    </div>
  );
}

function PublishedEvent({ event }: { event: MosaicEvent }) {
  return (
    <article className="published">
      <p className="phase phase-published">Published</p>
      <h1>{event.title}</h1>
      <p className="muted">
        {event.participants.map((p) => p.name).join(', ') || 'Nobody'}
        {event.publishedAt && <> · {formatDate(event.publishedAt)}</>}
      </p>
      <img
        className="montage montage-published"
        src={montageUrl(event.id, event.montageVersion)}
        alt={`Montage of “${event.title}”`}
      />
    </article>
  );
}
