import { Session, can } from '../api';
import { CardSearch } from './card';

export function HomePage({ session }: { session: Session }) {
  return (
    <>
      <h1>card-ledger console</h1>
      <p>
        Signed in as <strong>{session.name}</strong>. Every figure here is what the <a href="/docs">API</a> answers, as it answers it.
      </p>
      {can(session, 'ledger:read') && <CardSearch />}
      <ul class="links">
        {can(session, 'ledger:read', 'loads:write') && (
          <li>
            <a href="/console/review">Loads waiting for an operator (review queue)</a>
          </li>
        )}
        {can(session, 'ledger:read') && (
          <li>
            <a href="/console/reconciliation">Reconciliation, trial balance and the hash chain</a>
          </li>
        )}
        {can(session, 'loads:write') && (
          <li>
            <a href="/console/webhooks">Webhook subscriptions and deliveries</a>
          </li>
        )}
      </ul>
      {!can(session, 'ledger:read', 'loads:write') && (
        <p>This key's scopes ({session.scopes.join(', ')}) let it change loads but read none: ask for a key with ledger:read as well.</p>
      )}
    </>
  );
}
