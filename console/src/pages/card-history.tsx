import { useEffect, useState } from 'preact/hooks';
import { Page, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { Head, EmptyRow, LoadLink, Pager, usePages } from '../components/table';
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
  const pages = usePages([card, from, to, order, limit]);
  const path = `/v1/cards/${card}/history${query({ order, limit, from, to, cursor: pages.cursor })}`;
  const page = useGet<Page<HistoryRow>>(path);
  useEffect(() => {
    if (refresh > 0 && pages.cursors.length === 0) page.reload();
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
            <Head
              cols={[
                'Seq',
                'At (UTC)',
                'Event',
                'Amount',
                'Pending balance',
                'Posted balance',
                'Load',
                'Journal transaction',
                'Description',
              ]}
              numeric={['Amount', 'Pending balance', 'Posted balance']}
            />
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
                    <LoadLink id={r.loadId} />
                  </td>
                  <td class="mono">{shortId(r.journalTransactionId)}</td>
                  <td>{r.description ?? ''}</td>
                </tr>
              ))}
              {rows.length === 0 && <EmptyRow cols={9}>No balance changes in this window.</EmptyRow>}
            </tbody>
          </table>
        </div>
      )}
      <Pager pages={pages} next={page.data?.nextCursor} />
    </section>
  );
}
