import { useEffect, useState } from 'preact/hooks';
import { Page, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { money, shortId, time } from '../format';
import { useGet } from '../hooks';

interface HistoryRow {
  seq: number;
  at: string;
  event: string;
  loadId: string | null;
  journalTransactionId: string | null;
  amount: string;
  pendingBalance: string;
  postedBalance: string;
  description: string | null;
}

/**
 * The card's history in the chart's window, a page at a time, newest or oldest first. The CSV link asks the API for
 * exactly the rows on screen: the same window and order, bounded by the first and last `seq` shown.
 */
export function HistoryTable({ card, from, to, refresh }: { card: string; from: string | null; to: string | null; refresh: number }) {
  const [order, setOrder] = useState<'desc' | 'asc'>('desc');
  const [limit, setLimit] = useState(50);
  const [cursors, setCursors] = useState<string[]>([]);
  useEffect(() => setCursors([]), [card, from, to, order, limit]);
  const cursor = cursors[cursors.length - 1];
  const path = `/v1/cards/${card}/history${query({ order, limit, from, to, cursor })}`;
  const page = useGet<Page<HistoryRow>>(path);
  useEffect(() => {
    if (refresh > 0 && cursors.length === 0) page.reload();
  }, [refresh]);
  const rows = page.data?.data ?? [];
  const seqs = rows.map((r) => r.seq);
  const csv =
    rows.length === 0
      ? null
      : `/v1/cards/${card}/history${query({
          format: 'csv',
          order,
          from,
          to,
          seqFrom: Math.min(...seqs),
          seqTo: Math.max(...seqs) + 1,
        })}`;
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      <div class="controls">
        <label for="history-order">Order</label>
        <select id="history-order" value={order} onChange={(e) => setOrder((e.target as HTMLSelectElement).value as 'asc' | 'desc')}>
          <option value="desc">Newest first</option>
          <option value="asc">Oldest first</option>
        </select>
        <label for="history-limit">Rows per page</label>
        <select id="history-limit" value={limit} onChange={(e) => setLimit(Number((e.target as HTMLSelectElement).value))}>
          {[20, 50, 100, 500].map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        {csv && (
          <a class="button" href={csv} download data-testid="history-csv">
            Download these {rows.length} rows (CSV)
          </a>
        )}
      </div>
      <ErrorBox error={page.error} context="History" />
      {page.loading && !page.data && <Loading what="the history" />}
      {page.data && (
        <div class="table-wrap">
          <table data-testid="history-table">
            <caption class="visually-hidden">
              Balance changes of card {card}, {order === 'desc' ? 'newest' : 'oldest'} first
            </caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">At (UTC)</th>
                <th scope="col">Event</th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col" class="num">
                  Pending balance
                </th>
                <th scope="col" class="num">
                  Posted balance
                </th>
                <th scope="col">Load</th>
                <th scope="col">Journal transaction</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.seq} data-seq={r.seq}>
                  <td class="num">{r.seq}</td>
                  <td class="mono">{time(r.at)}</td>
                  <td>{r.event}</td>
                  <td class="num">{money(r.amount)}</td>
                  <td class="num">{money(r.pendingBalance)}</td>
                  <td class="num">{money(r.postedBalance)}</td>
                  <td>
                    {r.loadId ? (
                      <a href={`/console/loads/${r.loadId}`} aria-label={`load ${r.loadId}`}>
                        {shortId(r.loadId)}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td class="mono">{shortId(r.journalTransactionId)}</td>
                  <td>{r.description ?? ''}</td>
                </tr>
              ))}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={9} class="muted">
                    No balance changes in this window.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
          First page
        </button>
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
