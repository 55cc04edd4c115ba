/**
 * The vote on the current montage version: countdown, rules, accept/reject. Rejecting ends the
 * round for everyone, so it asks first.
 */
import { useState } from 'react';
import { ApiError, api } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { ConfirmDialog, ErrorNote, messageOf } from '../../components/common';
import { CheckIcon } from '../../components/icons';
import { useNow } from '../../hooks';
import { formatCountdown, fractionLeft, remainingMs } from '../../lib/countdown';
import { voteBlocked } from '../../lib/event-rules';
import { formatTime } from '../../lib/format';

export function VotePanel({
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
  const [confirmReject, setConfirmReject] = useState(false);

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
          ? // Each site counts the votes cast there; the master gathers them at the end.
            `${event.votes.cast} of ${event.votes.needed} votes known at this site.`
          : event.phase === 'aborted'
            ? 'The last round did not pass. Add a photo for a new version, then vote again.'
            : `Accepting the current version starts a vote of ${formatSeconds(event.votingSeconds)} for everyone who added a photo.`}
        {voting && event.deadline && <> Voting closes at {formatTime(event.deadline)}.</>}
        {voting && event.me.voted && ' You have voted.'}
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
            onClick={() => {
              setConfirmReject(true);
            }}
          >
            Reject
          </button>
        </div>
      )}
      {/* Said in words, not only in the buttons' tooltips (which phones never show). */}
      {event.montageVersion > 0 && acceptBlocked && !event.me.voted && (
        <p className="muted small" data-testid="vote-blocked">
          {acceptBlocked}
        </p>
      )}
      {error && <ErrorNote error={error} />}
      <ConfirmDialog
        open={confirmReject}
        title={`Reject version ${event.montageVersion}?`}
        confirmLabel="Reject"
        danger
        busy={busy}
        onConfirm={() => {
          setConfirmReject(false);
          void vote('reject');
        }}
        onCancel={() => {
          setConfirmReject(false);
        }}
      >
        <p>
          One reject ends this round for everyone: the montage is not published. Photos can then be
          added again for a new version and a new vote.
        </p>
      </ConfirmDialog>
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
