import { useState } from 'preact/hooks';
import { ApiFailure, Page, Session, api, can, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { Head, EmptyRow, LoadLink, Pager, usePages } from '../components/table';
import { shortId, time } from '../format';
import { asFailure, useGet } from '../hooks';

interface Subscription {
  id: string;
  url: string;
  events: string[];
  apiKeyId: string;
  allLoads: boolean;
  createdAt: string;
  deletedAt: string | null;
}
interface Attempt {
  at: string;
  status: string;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
}
export interface Delivery {
  id: string;
  type: string;
  loadId: string;
  status: string;
  createdAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  attempts: Attempt[];
  subscriptionId?: string;
}

/** /console/webhooks[/:id]: the key's subscriptions (an admin key: all) and, for one, its recent deliveries with every attempt. */
export function WebhooksPage({ session, params }: { session: Session; params: { id?: string } }) {
  if (!can(session, 'loads:write')) return <p>This key cannot see webhooks (it needs loads:write).</p>;
  return <Subscriptions session={session} id={params.id} />;
}

function Subscriptions({ session, id }: { session: Session; id?: string }) {
  const subs = useGet<Page<Subscription>>(`/v1/webhooks${query({ limit: 100 })}`);
  return (
    <>
      <h1>Webhooks</h1>
      <section aria-labelledby="subs-h">
        <h2 id="subs-h">Subscriptions</h2>
        <ErrorBox error={subs.error} />
        {subs.loading && !subs.data && <Loading what="subscriptions" />}
        {subs.data && (
          <div class="table-wrap">
            <table data-testid="subscriptions">
              <Head cols={['URL', 'Events', 'Hears', 'Owner key', 'Created (UTC)', 'Deliveries']} />
              <tbody>
                {subs.data.data.map((s) => (
                  <tr key={s.id} aria-current={s.id === id ? 'true' : undefined}>
                    <td class="mono">{s.url}</td>
                    <td>{s.events.join(', ')}</td>
                    <td>{s.allLoads ? 'every load' : "its key's loads"}</td>
                    <td class="mono">{shortId(s.apiKeyId)}</td>
                    <td class="mono">{time(s.createdAt)}</td>
                    <td>
                      <a href={`/console/webhooks/${s.id}`} aria-label={`deliveries to ${s.url}`}>
                        Deliveries
                      </a>
                    </td>
                  </tr>
                ))}
                {subs.data.data.length === 0 && <EmptyRow cols={6}>No subscriptions.</EmptyRow>}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {id && <SubscriptionDeliveries id={id} session={session} />}
    </>
  );
}

function SubscriptionDeliveries({ id, session }: { id: string; session: Session }) {
  const [status, setStatus] = useState('');
  const pages = usePages([id, status]);
  const page = useGet<Page<Delivery>>(`/v1/webhooks/${id}/deliveries${query({ status, limit: 50, cursor: pages.cursor })}`);
  return (
    <section aria-labelledby="deliveries-h">
      <h2 id="deliveries-h">
        Recent deliveries of <span class="mono">{shortId(id)}</span>
      </h2>
      <div class="controls">
        <label for="delivery-status">Status</label>
        <select id="delivery-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          <option value="pending">pending</option>
          <option value="delivered">delivered</option>
          <option value="failed">failed</option>
        </select>
      </div>
      <ErrorBox error={page.error} />
      {page.data && (
        <Deliveries rows={page.data.data.map((d) => ({ ...d, subscriptionId: id }))} session={session} onChanged={page.reload} />
      )}
      <Pager pages={pages} next={page.data?.nextCursor} />
    </section>
  );
}

/** Deliveries with every attempt; redeliver sends the event again (same id and body, a fresh retry budget). */
export function Deliveries({ rows, session, onChanged }: { rows: Delivery[]; session: Session; onChanged: () => void }) {
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  async function redeliver(d: Delivery) {
    setNote(null);
    setError(null);
    try {
      const again = await api<Delivery>('POST', `/v1/webhooks/${d.subscriptionId}/deliveries/${d.id}/redeliver`);
      setNote(`Event ${shortId(d.id)} (${d.type}) queued again: ${again.status}.`);
      onChanged();
    } catch (e) {
      setError(asFailure(e));
    }
  }
  return (
    <>
      <p role="status" aria-live="polite">
        {note}
      </p>
      <ErrorBox error={error} context="Redeliver" />
      <div class="table-wrap">
        <table data-testid="deliveries">
          <Head cols={['Created (UTC)', 'Event', 'Load', 'Status', 'Attempts', 'Action']} />
          <tbody>
            {rows.map((d) => (
              <tr key={`${d.subscriptionId}-${d.id}`}>
                <td class="mono">{time(d.createdAt)}</td>
                <td>
                  {d.type}
                  <div class="muted mono">{shortId(d.id)}</div>
                </td>
                <td>
                  <LoadLink id={d.loadId} />
                </td>
                <td>
                  <span class={`badge ${d.status}`}>{d.status}</span>
                  {d.nextAttemptAt && <div class="muted">next {time(d.nextAttemptAt)}</div>}
                  {d.lastError && <div class="muted">{d.lastError}</div>}
                </td>
                <td>
                  <ol class="attempts">
                    {d.attempts.map((a, i) => (
                      <li key={i}>
                        <span class="mono">{time(a.at)}</span> {a.status}
                        {a.httpStatus !== null ? ` · HTTP ${a.httpStatus}` : ''} · {a.durationMs} ms
                        {a.error && <div class="muted">{a.error}</div>}
                      </li>
                    ))}
                    {d.attempts.length === 0 && <li class="muted">none yet</li>}
                  </ol>
                </td>
                <td>
                  {can(session, 'loads:write') && d.subscriptionId && (
                    <button type="button" onClick={() => void redeliver(d)} aria-label={`Redeliver ${d.type} of load ${shortId(d.loadId)}`}>
                      Redeliver
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {rows.length === 0 && <EmptyRow cols={6}>No deliveries.</EmptyRow>}
          </tbody>
        </table>
      </div>
    </>
  );
}
