import { useState } from 'react';
import { useAuth } from '../auth';
import { Field, FormOutcome, useSubmit } from '../components/form';
import { Logo } from '../components/icons';

export function LoginPage() {
  const { auth, signIn } = useAuth();
  const ended = auth.status === 'signed-out' && auth.ended === true;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const form = useSubmit(() => signIn(username, password));

  return (
    <main className="login">
      <form className="login-card" {...form.formProps}>
        <div className="login-brand">
          <Logo size={44} />
          <h1>Mosaic</h1>
          <p className="muted">Your photos, on every site.</p>
        </div>
        {ended && !form.outcome && (
          <p className="note" role="status">
            Your session ended: the password was changed, the account was disabled, or it was signed
            out elsewhere. Sign in again.
          </p>
        )}
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          required
          value={username}
          onValue={setUsername}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <FormOutcome outcome={form.outcome} />
        <button type="submit" className="btn btn-primary btn-block" disabled={form.busy}>
          {form.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
