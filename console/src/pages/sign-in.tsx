import { useRef, useState } from 'preact/hooks';
import { ApiFailure, Session, api } from '../api';
import { asFailure } from '../hooks';

/**
 * Paste an API key once: the service answers with a session (an HttpOnly cookie the page cannot read) and the key
 * is forgotten here at once: it is never written to storage, a cookie or the URL.
 */
export function SignIn({ note, onSignedIn }: { note?: string; onSignedIn: (s: Session) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    const apiKey = input.current?.value.trim() ?? '';
    setBusy(true);
    setError(null);
    try {
      const session = await api<Session>('POST', '/console/api/session', { apiKey });
      if (input.current) input.current.value = '';
      onSignedIn(session);
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="sign-in">
      <h1>card-ledger console</h1>
      {note && <p role="status">{note}</p>}
      <form onSubmit={(e) => void submit(e)}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          name="api-key"
          autoComplete="off"
          spellcheck={false}
          required
          minLength={16}
          aria-describedby="api-key-help"
        />
        <p id="api-key-help" class="muted">
          Paste a key once (<code>npm start</code> prints the admin key). It is exchanged for a session that ends after a while unused; the
          key is not kept by this page. What you see depends on the key's scopes.
        </p>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <div role="alert">
          {error && (
            <p class="error">
              <code>{error.describe()}</code>
            </p>
          )}
        </div>
      </form>
    </main>
  );
}
