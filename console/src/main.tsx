import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { ApiFailure, Session, api, can, useCsrfToken, whenSessionEnds } from './api';
import { CardPage } from './pages/card';
import { HomePage } from './pages/home';
import { LoadPage } from './pages/load';
import { ReconciliationPage } from './pages/reconciliation';
import { ReviewPage } from './pages/review';
import { SignIn } from './pages/sign-in';
import { WebhooksPage } from './pages/webhooks';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

/** What the console knows of its session: nothing yet, none (sign in), or one. */
type SessionState = { state: 'checking' } | { state: 'none'; note?: string } | { state: 'open'; session: Session };

function App() {
  const [s, setS] = useState<SessionState>({ state: 'checking' });
  const open = (session: Session) => {
    useCsrfToken(session.csrfToken);
    setS({ state: 'open', session });
  };
  useEffect(() => {
    whenSessionEnds(() => {
      useCsrfToken(null);
      setS({ state: 'none', note: 'Your session has ended (it expired, was signed out, or its key was revoked). Sign in again.' });
    });
    api<Session>('GET', '/console/api/session').then(open, (e: unknown) =>
      setS({ state: 'none', note: e instanceof ApiFailure && e.status !== 401 ? e.describe() : undefined }),
    );
  }, []);
  if (s.state === 'checking')
    return (
      <p class="muted" role="status">
        Loading…
      </p>
    );
  if (s.state === 'none') return <SignIn note={s.note} onSignedIn={open} />;
  return (
    <Shell
      session={s.session}
      onSignedOut={() => {
        useCsrfToken(null);
        setS({ state: 'none', note: 'Signed out.' });
      }}
    />
  );
}

const NAV: Array<{ href: string; label: string; show: (s: Session) => boolean }> = [
  { href: '/console/cards', label: 'Cards', show: (s) => can(s, 'ledger:read') },
  { href: '/console/review', label: 'Review queue', show: (s) => can(s, 'ledger:read', 'loads:write') },
  { href: '/console/reconciliation', label: 'Reconciliation', show: (s) => can(s, 'ledger:read') },
  { href: '/console/webhooks', label: 'Webhooks', show: (s) => can(s, 'loads:write') },
];

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const { path } = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // A new page: move focus to its main region (as a screen reader expects after navigation), not on the first load.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [path]);
  async function signOut() {
    await api('DELETE', '/console/api/session').catch(() => undefined);
    onSignedOut();
  }
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/console">
          card-ledger console
        </a>
        <nav aria-label="Pages">
          <ul>
            {NAV.filter((n) => n.show(session)).map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={path.startsWith(n.href) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span data-testid="session-name">{session.name}</span>{' '}
          <span class="muted" data-testid="session-scopes">
            ({session.scopes.join(', ')})
          </span>{' '}
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Router>
          <Route path="/console" component={HomePage} session={session} />
          <Route path="/console/cards" component={CardPage} session={session} />
          <Route path="/console/cards/:card" component={CardPage} session={session} />
          <Route path="/console/loads/:id" component={LoadPage} session={session} />
          <Route path="/console/review" component={ReviewPage} session={session} />
          <Route path="/console/reconciliation" component={ReconciliationPage} session={session} />
          <Route path="/console/webhooks" component={WebhooksPage} session={session} />
          <Route path="/console/webhooks/:id" component={WebhooksPage} session={session} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </>
  );
}

function NotFound() {
  return (
    <>
      <h1>Not a console page</h1>
      <p>
        <a href="/console">Back to the start</a>
      </p>
    </>
  );
}

render(
  <LocationProvider scope="/console">
    <App />
  </LocationProvider>,
  document.getElementById('app')!,
);
