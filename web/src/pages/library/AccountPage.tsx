/**
 * The account menu's page: change one's own password (the old one required); an admin sees
 * the accounts and manages them (./People.tsx) and resets another account's password; one's
 * share links, each with what it shows (revoke them here, once confirmed); one's API tokens
 * (./Tokens.tsx).
 */
import { useState } from 'react';
import { thumbUrl } from '../../api/client';
import { library, type Share } from '../../api/library';
import { useAuth } from '../../auth';
import { ConfirmDialog, ErrorNote, messageOf } from '../../components/common';
import { Field, FormOutcome, useSubmit } from '../../components/form';
import { useConfirmed, useLoaded } from '../../hooks';
import { paths } from '../../lib/routes';
import { Link } from '../../router';
import { NewPassword, People } from './People';
import { Tokens } from './Tokens';
import { formatDay } from '../../lib/format';

export function AccountPage() {
  const { auth, handleError } = useAuth();
  const user = auth.status === 'signed-in' ? auth.user : null;
  return (
    <div className="account-page">
      <h1>Account</h1>
      <p className="muted">
        Signed in as <strong>{user?.username}</strong>
        {user?.role === 'admin' ? ' (admin)' : ''}.
      </p>
      <div className="account-grid">
        <ChangePassword onError={handleError} />
        {user?.role === 'admin' && <People onError={handleError} />}
        {user?.role === 'admin' && <ResetPassword onError={handleError} />}
        <ShareLinks onError={handleError} />
        <Tokens onError={handleError} />
        <section className="card">
          <h2>Trash</h2>
          <p className="muted">Deleted pictures, to restore or empty.</p>
          <Link to={paths.trash} className="btn">
            Open the trash
          </Link>
        </section>
      </div>
    </div>
  );
}

function ChangePassword({ onError }: { onError: (e: unknown) => void }) {
  const [old, setOld] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const form = useSubmit(
    async () => {
      if (next !== again) throw new Error('The new passwords differ.');
      await library.changePassword(old, next);
      setOld('');
      setNext('');
      setAgain('');
      // What it ends and what it does not (docs/architecture.md, "Requests in flight").
      return 'Password changed at every node. Your other sign-ins end; API tokens (mosaic sync) stay valid until revoked.';
    },
    { onError },
  );
  return (
    <form className="card" {...form.formProps} aria-label="Change your password">
      <h2>Change your password</h2>
      <Field
        label="Current password"
        type="password"
        name="old-password"
        autoComplete="current-password"
        required
        value={old}
        onValue={setOld}
      />
      <NewPassword label="New password" name="new-password" value={next} onValue={setNext} />
      <NewPassword
        label="New password again"
        name="new-password-again"
        value={again}
        onValue={setAgain}
      />
      <FormOutcome outcome={form.outcome} />
      <button type="submit" className="btn btn-primary">
        Change password
      </button>
    </form>
  );
}

function ResetPassword({ onError }: { onError: (e: unknown) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const form = useSubmit(
    async () => {
      await library.resetPassword(username.trim(), password);
      setPassword('');
      return `The password of ${username.trim()} is reset at every node.`;
    },
    { onError },
  );
  return (
    <form className="card" {...form.formProps} aria-label="Reset a password">
      <h2>Reset someone’s password</h2>
      <Field
        label="Username"
        name="reset-username"
        autoCapitalize="none"
        required
        value={username}
        onValue={setUsername}
      />
      <NewPassword
        label="New password"
        name="reset-password"
        value={password}
        onValue={setPassword}
      />
      <FormOutcome outcome={form.outcome} />
      <button type="submit" className="btn">
        Reset password
      </button>
    </form>
  );
}

function ShareLinks({ onError }: { onError: (e: unknown) => void }) {
  const { data: shares, error, setError, reload } = useLoaded(library.shares, onError);
  const revoke = useConfirmed(
    async (share: Share) => {
      await library.revokeShare(share.id);
      setError(null);
      await reload();
    },
    (e) => {
      onError(e);
      setError(messageOf(e));
    },
  );
  return (
    <section className="card" aria-label="Share links">
      <h2>Share links</h2>
      {error && <ErrorNote error={error} />}
      {shares?.length === 0 && (
        <p className="muted">No links. Share an album or a picture to make one.</p>
      )}
      <ul className="share-list">
        {shares?.map((s) => (
          <li key={s.id} data-testid="share-link">
            <span className="title-row" style={{ minWidth: 0 }}>
              <ShareThumb share={s} />
              <span className="share-line">
                <a href={s.path} className="mono small">
                  {s.path}
                </a>
                <span className="muted small">
                  {describeTarget(s)}
                  {s.hasPassword ? ' · password' : ''}
                  {s.expiresAt
                    ? ` · ${s.expired ? 'expired' : 'until'} ${formatDay(s.expiresAt)}`
                    : ''}
                </span>
              </span>
            </span>
            <button
              type="button"
              className="btn btn-small btn-danger-ghost"
              aria-label={`Revoke ${s.path}`}
              onClick={() => {
                revoke.ask(s);
              }}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={revoke.pending !== null}
        title="Revoke this link?"
        confirmLabel="Revoke"
        danger
        busy={revoke.busy}
        onConfirm={revoke.confirm}
        onCancel={revoke.cancel}
      >
        <p>
          {revoke.pending ? `The link to the ${describeTarget(revoke.pending)} ` : 'The link '}
          stops working at every node; whoever has it can no longer open it. A new link can be made
          later, with another address.
        </p>
      </ConfirmDialog>
    </section>
  );
}

/** What a link shows, as its list says it: `picture “Beach”`, `album “Summer”`. */
function describeTarget(share: Share): string {
  if (share.title === null) return `${share.target} (deleted)`;
  return `${share.target} “${share.title || 'Untitled'}”`;
}

/** The thumbnail keeps its width beside a long link. */
const KEEP = { flexShrink: 0 } as const;

/** A picture link's small thumbnail; a striped square for an album or a picture gone. */
function ShareThumb({ share }: { share: Share }) {
  const [failed, setFailed] = useState(false);
  if (share.target !== 'picture' || share.title === null || failed) {
    return (
      <span className="trash-shape" style={{ ...KEEP, aspectRatio: '1 / 1' }} aria-hidden="true" />
    );
  }
  return (
    <img
      className="trash-shape"
      style={KEEP}
      src={thumbUrl(share.targetId)}
      alt=""
      loading="lazy"
      data-testid="share-thumb"
      onError={() => {
        setFailed(true);
      }}
    />
  );
}
