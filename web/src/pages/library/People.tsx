/**
 * An admin's "People": the accounts, each with its role and state; make one an admin or not,
 * disable or enable it (each asked first, and at every node once replicated); and the form that
 * adds one (as `mosaic user add`). The server's rules decide what is refused (one's own
 * account, the last admin who can sign in) and its sentence is shown.
 */
import { useState } from 'react';
import { library } from '../../api/library';
import type { Person } from '../../api/types';
import { useAuth } from '../../auth';
import { ConfirmDialog, ErrorNote, messageOf } from '../../components/common';
import { Field, FormOutcome, useSubmit } from '../../components/form';
import { useConfirmed, useLoaded } from '../../hooks';

/** A change an admin asked for, waiting for the confirmation. */
interface Pending {
  readonly person: Person;
  readonly change: { role?: 'admin' | 'user'; disabled?: boolean };
}

export function People({ onError }: { onError: (e: unknown) => void }) {
  const { auth } = useAuth();
  const me = auth.status === 'signed-in' ? auth.user.username : null;
  const people = useLoaded(library.users, onError);
  const [done, setDone] = useState<string | null>(null);
  const change = useConfirmed(
    async ({ person, change }: Pending) => {
      setDone(null);
      const after = await library.setAccess(person.username, change);
      setDone(describeDone(after, change));
      people.setError(null);
      await people.reload();
    },
    (e) => {
      onError(e);
      people.setError(messageOf(e));
    },
  );
  const pending = change.pending;
  return (
    <>
      <section className="card" aria-label="People">
        <h2>People</h2>
        {people.error && <ErrorNote error={people.error} />}
        {done && (
          <p className="note" role="status">
            {done}
          </p>
        )}
        <ul className="share-list people-list" aria-label="Accounts">
          {people.data?.map((p) => (
            <li key={p.username} data-testid="person" className={p.disabled ? 'muted' : ''}>
              <span className="title-row" style={{ minWidth: 0, flexWrap: 'wrap' }}>
                <span className="share-line">{p.username}</span>
                {p.role === 'admin' && <span className="badge">admin</span>}
                {p.disabled && <span className="badge badge-off">disabled</span>}
                {p.username === me && <span className="muted small">you</span>}
              </span>
              {p.username !== me && (
                <span className="title-row person-actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    aria-label={`${p.role === 'admin' ? 'Remove admin from' : 'Make admin'} ${p.username}`}
                    onClick={() => {
                      change.ask({
                        person: p,
                        change: { role: p.role === 'admin' ? 'user' : 'admin' },
                      });
                    }}
                  >
                    {p.role === 'admin' ? 'Remove admin' : 'Make admin'}
                  </button>
                  <button
                    type="button"
                    className={p.disabled ? 'btn btn-small' : 'btn btn-small btn-danger-ghost'}
                    aria-label={`${p.disabled ? 'Enable' : 'Disable'} ${p.username}`}
                    onClick={() => {
                      change.ask({ person: p, change: { disabled: !p.disabled } });
                    }}
                  >
                    {p.disabled ? 'Enable' : 'Disable'}
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
        <ConfirmDialog
          open={pending !== null}
          title={pending ? titleOf(pending) : ''}
          confirmLabel={pending ? labelOf(pending) : ''}
          danger={pending?.change.disabled === true}
          busy={change.busy}
          onConfirm={change.confirm}
          onCancel={change.cancel}
        >
          <p>{pending ? explain(pending) : ''}</p>
        </ConfirmDialog>
      </section>
      <AddPerson onError={onError} onAdded={() => void people.reload()} />
    </>
  );
}

function titleOf({ person, change }: Pending): string {
  if (change.disabled === true) return `Disable ${person.username}?`;
  if (change.disabled === false) return `Enable ${person.username}?`;
  return change.role === 'admin'
    ? `Make ${person.username} an admin?`
    : `Remove admin from ${person.username}?`;
}

function labelOf({ change }: Pending): string {
  if (change.disabled !== undefined) return change.disabled ? 'Disable' : 'Enable';
  return change.role === 'admin' ? 'Make admin' : 'Remove admin';
}

function explain({ person, change }: Pending): string {
  const who = person.username;
  if (change.disabled === true) {
    return `${who} is signed out at every node, their API tokens and synced devices stop working, and they cannot sign in until an admin enables the account again. Their pictures, albums and files stay.`;
  }
  if (change.disabled === false)
    return `${who} can sign in again, and their API tokens work again.`;
  return change.role === 'admin'
    ? `An admin may add people, reset passwords, change or disable accounts, and edit or delete anyone's pictures.`
    : `${who} keeps their account and pictures, and can no longer manage other people or their pictures.`;
}

function describeDone(after: Person, change: Pending['change']): string {
  const where = 'at every node once replicated';
  if (change.disabled !== undefined) {
    return `${after.username} is ${after.disabled ? 'disabled' : 'enabled'} ${where}.`;
  }
  return `${after.username} is ${after.role === 'admin' ? 'an admin' : 'no longer an admin'} ${where}.`;
}

/** The form that adds an account: at every node once replicated (as `mosaic user add`). */
function AddPerson({ onError, onAdded }: { onError: (e: unknown) => void; onAdded: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const form = useSubmit(
    async () => {
      const added = await library.addUser({ username: username.trim(), password, admin });
      setUsername('');
      setPassword('');
      setAdmin(false);
      onAdded();
      return `${added.username} can sign in now${added.role === 'admin' ? ', as an administrator' : ''}, at every node once replicated.`;
    },
    { onError },
  );
  return (
    <form className="card" {...form.formProps} aria-label="Add a person">
      <h2>Add a person</h2>
      <Field
        label="Username"
        name="new-username"
        autoComplete="off"
        autoCapitalize="none"
        required
        maxLength={64}
        value={username}
        onValue={setUsername}
      />
      <NewPassword
        label="Password"
        name="new-user-password"
        value={password}
        onValue={setPassword}
      />
      <label className="album-choice">
        <input
          type="checkbox"
          name="new-user-admin"
          checked={admin}
          onChange={(e) => {
            setAdmin(e.target.checked);
          }}
        />
        <span>Administrator</span>
        <span className="muted small">may add people and manage everything</span>
      </label>
      <FormOutcome outcome={form.outcome} />
      <button type="submit" className="btn btn-primary" disabled={form.busy}>
        Add person
      </button>
    </form>
  );
}

/** A field for a password being set (the server wants 8 characters or more). */
export function NewPassword(props: {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
}) {
  return <Field {...props} type="password" autoComplete="new-password" required minLength={8} />;
}
