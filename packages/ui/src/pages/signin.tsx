/** Sign-in: with an API key, or with a username and password. Shows the server's answer when it refuses. */
import { type FormEvent, useState } from 'react';
import { signIn } from '../api';
import { ErrorBanner } from '../components/ui';

export default function SignIn(props: { onSignedIn: () => void }) {
  const [apiKey, setApiKey] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const key = apiKey.trim();
    if (key === '' && (username.trim() === '' || password === '')) {
      setError(new Error('Give an API key, or a username and a password.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    signIn(key !== '' ? { apiKey: key } : { username: username.trim(), password }).then(
      () => {
        setBusy(false);
        props.onSignedIn();
      },
      (reason: unknown) => {
        setBusy(false);
        setError(reason);
      },
    );
  };

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-label="Sign in">
        <div className="card-body stack">
          <div>
            <div className="brand-mark">Quiver</div>
            <h1>Sign in</h1>
            <p className="muted">Checkpoints, artifacts and the model registry of your team.</p>
          </div>
          <ErrorBanner error={error} />
          <label className="field">
            API key
            <input
              className="input"
              type="password"
              autoComplete="off"
              name="apiKey"
              placeholder="qvr_…"
              value={apiKey}
              onChange={(event) => setApiKey(event.target.value)}
            />
          </label>
          <div className="divider">
            <span>or</span>
          </div>
          <label className="field">
            Username
            <input
              className="input"
              autoComplete="username"
              name="username"
              value={username}
              onChange={(event) => setUsername(event.target.value)}
            />
          </label>
          <label className="field">
            Password
            <input
              className="input"
              type="password"
              autoComplete="current-password"
              name="password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </label>
          <button type="submit" className="button primary block" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </main>
  );
}
