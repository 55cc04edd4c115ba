/**
 * The account menu's page: change one's own password (the old one required), an admin resets
 * another account's, and one's share links (revoke them here).
 */
import { useCallback, useEffect, useState, type SyntheticEvent } from 'react';
import { library, type Share } from '../../api/library';
import { useAuth } from '../../auth';
import { ErrorNote, messageOf } from '../../components/common';
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
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    if (next !== again) {
      setResult({ ok: false, text: 'The new passwords differ.' });
      return;
    }
    try {
      await library.changePassword(old, next);
      setResult({ ok: true, text: 'Password changed at every node.' });
      setOld('');
      setNext('');
      setAgain('');
    } catch (e) {
      onError(e);
      setResult({ ok: false, text: messageOf(e) });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Change your password">
      <h2>Change your password</h2>
      <label className="field">
        <span>Current password</span>
        <input
          type="password"
          name="old-password"
          autoComplete="current-password"
          required
          value={old}
          onChange={(e) => {
            setOld(e.target.value);
          }}
        />
      </label>
      <label className="field">
        <span>New password</span>
        <input
          type="password"
          name="new-password"
          autoComplete="new-password"
          required
          minLength={8}
          value={next}
          onChange={(e) => {
            setNext(e.target.value);
          }}
        />
      </label>
      <label className="field">
        <span>New password again</span>
        <input
          type="password"
          name="new-password-again"
          autoComplete="new-password"
          required
          minLength={8}
          value={again}
          onChange={(e) => {
            setAgain(e.target.value);
          }}
        />
      </label>
      {result && (
        <p className={result.ok ? 'note' : 'form-error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </p>
      )}
      <button type="submit" className="btn btn-primary">
        Change password
      </button>
    </form>
  );
}

function ResetPassword({ onError }: { onError: (e: unknown) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    try {
      await library.resetPassword(username.trim(), password);
      setResult({ ok: true, text: `The password of ${username.trim()} is reset at every node.` });
      setPassword('');
    } catch (e) {
      onError(e);
      setResult({ ok: false, text: messageOf(e) });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Reset a password">
      <h2>Reset someone’s password</h2>
      <label className="field">
        <span>Username</span>
        <input
          name="reset-username"
          required
          value={username}
          onChange={(e) => {
            setUsername(e.target.value);
          }}
        />
      </label>
      <label className="field">
        <span>New password</span>
        <input
          type="password"
          name="reset-password"
          autoComplete="new-password"
          required
          minLength={8}
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
          }}
        />
      </label>
      {result && (
        <p className={result.ok ? 'note' : 'form-error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </p>
      )}
      <button type="submit" className="btn">
        Reset password
      </button>
    </form>
  );
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
