/**
 * The invite page: a person joins the event with a name (a signed-in member's account name is
 * filled in, still editable: accounts have no display name, so it is the username); an event
 * whose places are all taken (the invite's view names its participants and maximum) says so
 * instead of the form.
 */
import { useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { messageOf } from '../../components/common';
import { Field, FormOutcome, useSubmit } from '../../components/form';
import { Logo } from '../../components/icons';
import { useAuth } from '../../auth';

export function JoinCard({
  id,
  invite,
  title,
  full,
  onJoined,
}: {
  id: string;
  invite: string;
  title: string | null;
  full: boolean;
  onJoined: (event: MosaicEvent) => void;
}) {
  const { auth } = useAuth();
  const account = auth.status === 'signed-in' ? auth.user.username : null;
  const [name, setName] = useState(account ?? '');
  // The session may be learned after the first render: filled in then, unless already typed.
  const typed = useRef(false);
  useEffect(() => {
    if (account !== null && !typed.current) setName(account);
  }, [account]);
  const form = useSubmit(
    async () => {
      onJoined(await api.joinEvent(id, invite, name.trim()));
    },
    {
      describe: (caught) =>
        caught instanceof ApiError && caught.code === 'invite_invalid'
          ? caught.message
          : caught instanceof ApiError && caught.status === 403
            ? 'This invite link is not valid (any more).'
            : caught instanceof ApiError && caught.status === 409
              ? 'This event is full.'
              : messageOf(caught),
    },
  );

  if (full) {
    return (
      <div className="login">
        <div className="login-card">
          <div className="login-brand">
            <Logo size={40} />
            <p className="muted">You are invited to</p>
            <h1>{title ?? 'a photo event'}</h1>
          </div>
          <p className="form-error" role="alert">
            This event is full.
          </p>
          <p className="muted small">
            Every place is taken, so no one else can join. Ask the organiser to make room.
          </p>
        </div>
      </div>
    );
  }

  return (
    <div className="login">
      <form className="login-card" {...form.formProps}>
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
        <Field
          label="Your name"
          name="name"
          required
          maxLength={64}
          autoComplete="nickname"
          value={name}
          onValue={(value) => {
            typed.current = true;
            setName(value);
          }}
        />
        <FormOutcome outcome={form.outcome} />
        <button type="submit" className="btn btn-primary btn-block" disabled={form.busy}>
          {form.busy ? 'Joining…' : 'Join the event'}
        </button>
      </form>
    </div>
  );
}
