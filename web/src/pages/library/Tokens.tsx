/**
 * One's API tokens on the Account page: what each is called, when it was made and last used
 * here, when it expires; revoke one (asked first: it stops at every node); make one, whose
 * secret is shown once. `mosaic login` makes a token per machine for `mosaic sync`.
 */
import { useState } from 'react';
import { library, type ApiToken } from '../../api/library';
import { ConfirmDialog, ErrorNote, messageOf } from '../../components/common';
import { Field, FormOutcome, useSubmit } from '../../components/form';
import { LinkBox } from '../../components/LinkBox';
import { useConfirmed, useLoaded } from '../../hooks';
import { formatDay } from '../../lib/format';

/** The expiries offered, in days (none: never expires). */
const EXPIRIES = [
  { label: 'Never', days: undefined },
  { label: 'In 30 days', days: 30 },
  { label: 'In a year', days: 365 },
] as const;

export function Tokens({ onError }: { onError: (e: unknown) => void }) {
  const tokens = useLoaded(library.tokens, onError);
  const revoke = useConfirmed(
    async (t: ApiToken) => {
      await library.revokeToken(t.id);
      tokens.setError(null);
      await tokens.reload();
    },
    (e) => {
      onError(e);
      tokens.setError(messageOf(e));
    },
  );
  return (
    <section className="card" aria-label="API tokens">
      <h2>Laptops and programs (API tokens)</h2>
      <p className="muted small">
        A laptop that syncs a folder with Mosaic, or a script, acts as you with a token of yours (
        <code>mosaic login</code> makes one per machine). If a laptop is lost or sold, revoke its
        token here: it stops working at every node.
      </p>
      {tokens.error && <ErrorNote error={tokens.error} />}
      {tokens.data?.length === 0 && <p className="muted">No tokens.</p>}
      <ul className="share-list" aria-label="Your tokens">
        {tokens.data?.map((t) => (
          <li key={t.id} data-testid="token">
            <span className="share-line">
              <span>{t.name}</span>
              <span className="muted small">{describe(t)}</span>
            </span>
            <button
              type="button"
              className="btn btn-small btn-danger-ghost"
              aria-label={`Revoke ${t.name}`}
              onClick={() => {
                revoke.ask(t);
              }}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={revoke.pending !== null}
        title={`Revoke “${revoke.pending?.name ?? ''}”?`}
        confirmLabel="Revoke"
        danger
        busy={revoke.busy}
        onConfirm={revoke.confirm}
        onCancel={revoke.cancel}
      >
        <p>
          Programs that use it stop working at every node. A laptop that synced with it needs{' '}
          <code>mosaic login</code> again.
        </p>
      </ConfirmDialog>
      <NewToken onError={onError} onMade={() => void tokens.reload()} />
    </section>
  );
}

/** "made 3 Dec 2026 · last used at this node 5 Dec 2026 · expires 2 Jan 2027" */
function describe(t: ApiToken): string {
  const parts = [`made ${formatDay(t.createdAt)}`];
  parts.push(
    t.lastUsed ? `last used at this node ${formatDay(t.lastUsed)}` : 'never used at this node',
  );
  if (t.expiresAt) parts.push(`${t.expired ? 'expired' : 'expires'} ${formatDay(t.expiresAt)}`);
  return parts.join(' · ');
}

function NewToken({ onError, onMade }: { onError: (e: unknown) => void; onMade: () => void }) {
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState(0);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const form = useSubmit(
    async () => {
      setSecret(null);
      const days = EXPIRIES[expiry]?.days;
      const made = await library.createToken({
        name: name.trim(),
        ...(days === undefined ? {} : { expiresInDays: days }),
      });
      setSecret({ name: made.name, token: made.token });
      setName('');
      onMade();
    },
    { onError },
  );
  return (
    <form {...form.formProps} aria-label="New token" className="token-form">
      <Field
        label="New token’s name"
        name="token-name"
        autoComplete="off"
        required
        maxLength={100}
        placeholder="e.g. backup script"
        value={name}
        onValue={setName}
      />
      <label className="field">
        <span>Expires</span>
        <select
          name="token-expiry"
          value={expiry}
          onChange={(e) => {
            setExpiry(Number(e.target.value));
          }}
        >
          {EXPIRIES.map((x, i) => (
            <option key={x.label} value={i}>
              {x.label}
            </option>
          ))}
        </select>
      </label>
      <FormOutcome outcome={form.outcome} />
      {secret && (
        <LinkBox
          id="new-token"
          label={`Token “${secret.name}”`}
          url={secret.token}
          note="Copy it now: it is not shown again. Give it as Authorization: Bearer …"
          secret
        />
      )}
      <button type="submit" className="btn" disabled={form.busy}>
        Make a token
      </button>
    </form>
  );
}
