import { useState } from 'preact/hooks';
import { CardLoadWithEvents, Page, Session, can, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { Head } from '../components/table';
import { LoadActions } from '../components/load-actions';
import { money, shortId, time } from '../format';
import { useGet, useInterval } from '../hooks';
import { Deliveries, Delivery } from './webhooks';

interface JournalTx {
  id: string;
  kind: string;
  pendingId: string | null;
  undoesId: string | null;
  description: string | null;
  createdAt: string;
  entries: Array<{ accountCode: string; direction: 'debit' | 'credit'; amount: string; currency: string }>;
  seal: { seq: number; hash: string } | null;
}

/** /console/loads/:id: the load's fields, its life as a timeline, the journal transactions it made and the webhooks it caused. */
export function LoadPage({ session, params }: { session: Session; params: { id: string } }) {
  const load = useGet<CardLoadWithEvents>(`/v1/card-loads/${params.id}`);
  const [note, setNote] = useState<string | null>(null);
  const journal = useGet<Page<JournalTx>>(can(session, 'ledger:read') ? `/v1/journal${query({ loadId: params.id, limit: 50 })}` : null);
  const deliveries = useGet<Page<Delivery & { subscriptionId: string }>>(
    can(session, 'loads:write') ? `/v1/webhooks/deliveries${query({ loadId: params.id, limit: 100 })}` : null,
  );
  // A load on its way to EnKash changes by itself: read it again until it settles.
  useInterval(
    () => {
      load.reload();
      journal.reload();
      deliveries.reload();
    },
    load.data?.status === 'pending' ? 2000 : null,
  );
  const l = load.data;
  return (
    <>
      <h1>
        Card load <span class="mono">{shortId(params.id)}</span>
      </h1>
      <ErrorBox error={load.error} />
      {load.loading && !l && <Loading what="the load" />}
      <p role="status" aria-live="polite">
        {note}
      </p>
      {l && (
        <>
          <section aria-labelledby="fields-h">
            <h2 id="fields-h">
              The load{' '}
              <span class={`badge ${l.status}`} data-testid="load-status">
                {l.status}
              </span>
            </h2>
            <LoadActions
              load={l}
              session={session}
              onChanged={(_u, done) => {
                setNote(done);
                load.reload();
                journal.reload();
                deliveries.reload();
              }}
            />
            <dl class="fields">
              <dt>Id</dt>
              <dd class="mono">{l.id}</dd>
              <dt>Reference (sent to EnKash)</dt>
              <dd class="mono">{l.reference}</dd>
              <dt>Card</dt>
              <dd>
                <a href={`/console/cards/${l.enKashCardId}`}>{l.enKashCardId}</a>
              </dd>
              <dt>Amount</dt>
              <dd>{money(l.amount, l.currency)}</dd>
              <dt>Company / parent card account</dt>
              <dd>
                {l.companyId} / {l.cardAccountId}
              </dd>
              <dt>Attempts</dt>
              <dd>{l.attempts}</dd>
              <dt>Created</dt>
              <dd>{time(l.createdAt)}</dd>
              <dt>Updated</dt>
              <dd>{time(l.updatedAt)}</dd>
              <dt>Posted</dt>
              <dd>{time(l.postedAt)}</dd>
              <dt>Reversed</dt>
              <dd>{time(l.reversedAt)}</dd>
              <dt>Undone</dt>
              <dd>{time(l.undoneAt)}</dd>
              <dt>Status reason</dt>
              <dd>{l.statusReason ?? '—'}</dd>
              <dt>Description / remarks</dt>
              <dd>
                {l.description ?? '—'} / {l.remarks ?? '—'}
              </dd>
              <dt>Metadata</dt>
              <dd>{Object.keys(l.metadata).length ? <code>{JSON.stringify(l.metadata)}</code> : '—'}</dd>
            </dl>
          </section>
          <section aria-labelledby="timeline-h">
            <h2 id="timeline-h">Timeline</h2>
            <ol class="timeline" data-testid="timeline">
              {l.events.map((e, i) => (
                <li key={i} class={e.type.startsWith('enkash') ? 'call' : 'state'}>
                  <span class="mono">{time(e.at)}</span> <strong>{e.type}</strong>
                  {e.outcome && (
                    <>
                      {' '}
                      · outcome <em>{e.outcome}</em>
                    </>
                  )}
                  {e.httpStatus !== null && <> · HTTP {e.httpStatus}</>}
                  {e.code !== null && <> · code {e.code}</>}
                  {e.durationMs !== null && <> · {e.durationMs} ms</>}
                  {e.actor && <> · by {e.actor}</>}
                  {e.message && <div class="message">{e.message}</div>}
                </li>
              ))}
            </ol>
          </section>
        </>
      )}
      {can(session, 'ledger:read') && (
        <section aria-labelledby="journal-h">
          <h2 id="journal-h">Journal transactions</h2>
          <ErrorBox error={journal.error} />
          {journal.data && (
            <div class="table-wrap">
              <table data-testid="journal-table">
                <Head cols={['Created (UTC)', 'Kind', 'Transaction', 'Entries', 'Seal']} />
                <tbody>
                  {journal.data.data.map((t) => (
                    <tr key={t.id}>
                      <td class="mono">{time(t.createdAt)}</td>
                      <td>{t.kind}</td>
                      <td class="mono">{t.id}</td>
                      <td>
                        <ul class="entries">
                          {t.entries.map((e, i) => (
                            <li key={i}>
                              {e.direction} <span class="mono">{e.accountCode}</span> {money(e.amount, e.currency)}
                            </li>
                          ))}
                        </ul>
                      </td>
                      <td>{t.seal ? `#${t.seal.seq}` : 'not sealed yet'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
      {can(session, 'loads:write') && (
        <section aria-labelledby="deliveries-h">
          <h2 id="deliveries-h">Webhook deliveries</h2>
          <ErrorBox error={deliveries.error} />
          {deliveries.data && <Deliveries rows={deliveries.data.data} session={session} onChanged={deliveries.reload} />}
        </section>
      )}
    </>
  );
}
