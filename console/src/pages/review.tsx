import { useState } from 'preact/hooks';
import { CardLoad, Page, Session, can, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { Head, EmptyRow, LoadLink, Pager, usePages } from '../components/table';
import { LoadActions } from '../components/load-actions';
import { age, money, time } from '../format';
import { useGet } from '../hooks';

/**
 * /console/review: loads in needs_review, oldest first (GET /v1/card-loads?status=needs_review&order=asc), with
 * their age. A key with ops:write resolves, requeues, or (once posted) undoes them, each behind a confirmation.
 */
export function ReviewPage({ session }: { session: Session }) {
  if (!can(session, 'ledger:read', 'loads:write')) return <p>This key cannot list loads (it needs ledger:read or loads:write).</p>;
  return <ReviewQueue session={session} />;
}

function ReviewQueue({ session }: { session: Session }) {
  const pages = usePages([]);
  const page = useGet<Page<CardLoad>>(`/v1/card-loads${query({ status: 'needs_review', order: 'asc', limit: 50, cursor: pages.cursor })}`);
  const [note, setNote] = useState<string | null>(null);
  // Loads decided here stay in view with their new state, so a mistaken "posted" can be undone at once.
  const [decided, setDecided] = useState<CardLoad[]>([]);
  const changed = (l: CardLoad, done: string) => {
    setNote(done);
    setDecided((d) => [l, ...d.filter((x) => x.id !== l.id)]);
    page.reload();
  };
  const rows = page.data?.data ?? [];
  return (
    <>
      <h1>Review queue</h1>
      <p class="muted">
        Loads whose EnKash outcome stayed unknown through the retry budget, oldest first. See docs/operations.md, "The review queue".
        {!can(session, 'ops:write') && ' This key has no ops:write: it can look, not act.'}
      </p>
      <p role="status" aria-live="polite" data-testid="review-note">
        {note}
      </p>
      <ErrorBox error={page.error} />
      {page.loading && !page.data && <Loading what="the review queue" />}
      {page.data && (
        <div class="table-wrap">
          <table data-testid="review-table">
            <caption class="visually-hidden">Loads in needs_review, oldest first</caption>
            <Head cols={['Created (UTC)', 'Age', 'Load', 'Card', 'Amount', 'Attempts', 'Why', 'Actions']} numeric={['Amount']} />
            <tbody>
              {rows.map((l) => (
                <LoadRow key={l.id} load={l} session={session} onChanged={changed} />
              ))}
              {rows.length === 0 && <EmptyRow cols={8}>Nothing waits for an operator.</EmptyRow>}
            </tbody>
          </table>
        </div>
      )}
      <Pager pages={pages} next={page.data?.nextCursor} />
      {decided.length > 0 && (
        <section aria-labelledby="decided-h">
          <h2 id="decided-h">Decided in this session</h2>
          <div class="table-wrap">
            <table data-testid="decided-table">
              <Head cols={['Created (UTC)', 'Status', 'Load', 'Card', 'Amount', 'Attempts', 'Why', 'Actions']} numeric={['Amount']} />
              <tbody>
                {decided.map((l) => (
                  <LoadRow key={l.id} load={l} session={session} onChanged={changed} showStatus />
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}

function LoadRow({
  load: l,
  session,
  onChanged,
  showStatus,
}: {
  load: CardLoad;
  session: Session;
  onChanged: (l: CardLoad, done: string) => void;
  showStatus?: boolean;
}) {
  return (
    <tr data-load={l.id}>
      <td class="mono">{time(l.createdAt)}</td>
      <td>
        {showStatus ? (
          <span class={`badge ${l.status}`}>
            {l.status}
            {l.undoneAt ? ', undone' : ''}
          </span>
        ) : (
          age(l.createdAt)
        )}
      </td>
      <td>
        <LoadLink id={l.id} />
      </td>
      <td>
        <a href={`/console/cards/${l.enKashCardId}`}>{l.enKashCardId}</a>
      </td>
      <td class="num">{money(l.amount, l.currency)}</td>
      <td class="num">{l.attempts}</td>
      <td>{l.statusReason ?? '—'}</td>
      <td>
        <LoadActions load={l} session={session} onChanged={onChanged} />
      </td>
    </tr>
  );
}
