/**
 * The account menu's page: change one's own password (the old one required), an admin resets
 * another account's, and one's share links (revoke them here).
 */
import { useCallback, useEffect, useState } from 'react';
import { library, type Share } from '../../api/library';
import { useAuth } from '../../auth';
import { ErrorNote, messageOf } from '../../components/common';
import { Field, FormOutcome, useSubmit } from '../../components/form';
import { paths } from '../../lib/routes';
import { Link } from '../../router';

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
        {user?.role === 'admin' && <ResetPassword onError={handleError} />}
        <ShareLinks onError={handleError} />
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
      return 'Password changed at every node.';
    },
    { onError },
  );
  return (
    <form className="card" onSubmit={form.onSubmit} aria-label="Change your password">
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
    <form className="card" onSubmit={form.onSubmit} aria-label="Reset a password">
      <h2>Reset someone’s password</h2>
      <Field
        label="Username"
        name="reset-username"
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

/** A field for a password being set (the server wants 8 characters or more). */
function NewPassword(props: {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
}) {
  return <Field {...props} type="password" autoComplete="new-password" required minLength={8} />;
}

function ShareLinks({ onError }: { onError: (e: unknown) => void }) {
  const [shares, setShares] = useState<Share[] | null>(null);
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const [links, albums] = await Promise.all([library.shares(), library.albums()]);
      setNames(new Map(albums.map((a) => [a.id, a.name])));
      setShares(links);
    } catch (e) {
      onError(e);
      setError(messageOf(e));
    }
  }, [onError]);
  useEffect(() => {
    void load();
  }, [load]);
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
            <span className="share-line">
              <a href={s.path} className="mono small">
                {s.path}
              </a>
              <span className="muted small">
                {s.target === 'album' ? `album “${names.get(s.targetId) ?? 'deleted'}”` : 'picture'}
                {s.hasPassword ? ' · password' : ''}
                {s.expiresAt
                  ? ` · ${s.expired ? 'expired' : 'until'} ${new Date(s.expiresAt).toLocaleDateString()}`
                  : ''}
              </span>
            </span>
            <button
              type="button"
              className="btn btn-small btn-danger-ghost"
              aria-label={`Revoke ${s.path}`}
              onClick={() =>
                void library.revokeShare(s.id).then(load, (e: unknown) => {
                  onError(e);
                  setError(messageOf(e));
                })
              }
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
