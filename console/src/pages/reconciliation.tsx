import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiFailure, Page, Session, api, can, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { Head, EmptyRow, LoadLink, Pager, usePages } from '../components/table';
import { fromInput, money, shortId, time, toInput } from '../format';
import { asFailure, useGet } from '../hooks';

interface Run {
  id: string;
  trigger: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  windowFrom: string | null;
  windowTo: string;
  checkedLoads: number;
  checkedCards: number;
  findingsCount: number;
  error: string | null;
}
interface Finding {
  id: string;
  runId: string;
  kind: string;
  loadId: string | null;
  reference: string | null;
  accountCode: string | null;
  ledgerAmount: string | null;
  enkashAmount: string | null;
  evidence: Record<string, unknown>;
  foundAt: string;
}
interface Report {
  from: string | null;
  to: string | null;
  asOf: string;
  loads: Array<{ currency: string; status: string; count: number; amount: string }>;
  totals: Array<{ currency: string; count: number; amount: string }>;
  ageBuckets: Array<{ status: string; buckets: Record<string, number> }>;
  lastRun: Run | null;
  data: Finding[];
  nextCursor: string | null;
}
/** The money columns both trial-balance tables show: a currency's totals and an account's line. */
interface Balances {
  debitBalance: string;
  creditBalance: string;
  pendingDebits: string;
  pendingCredits: string;
}
interface TrialBalance {
  asOf: string;
  balanced: boolean;
  nextCursor: string | null;
  totals: Array<Balances & { currency: string; postedDebits: string; postedCredits: string; balanced: boolean }>;
  data: Array<Balances & { code: string; name: string | null; currency: string; normalSide: string }>;
}
/**
 * GET /v1/audit/verify (and, where the service keeps them, /verify/latest): the fields after `reason` come from a
 * verifier that also checks signed checkpoints and invariants; they are shown when the answer has them.
 */
type Verdict = {
  ok: boolean;
  checkedTransactions: number;
  unsealedTransactions?: number;
  brokenAt?: string;
  seq?: number;
  reason?: string;
  checkpoints?: { checked: number; latestSeq: number | null };
  findings?: Array<{ check: string; row: string; message: string }>;
  trigger?: string;
  finishedAt?: string;
};
interface Checkpoint {
  seq: number;
  document: string;
  signature: string;
}

const AGES = ['<1m', '1-5m', '5-60m', '1-24h', '>24h'];

/** The verifier's last verdict this console got, with when: kept across page changes (it walks the whole chain). */
let lastVerdict: { at: string; verdict: Verdict } | null = null;

/** /console/reconciliation?from=&to=: the ledger's loads beside what runs against EnKash found, the trial balance, the hash chain. */
export function ReconciliationPage({ session }: { session: Session }) {
  const { query: q, path, route } = useLocation();
  if (!can(session, 'ledger:read')) return <p>This key cannot read reports (it needs ledger:read).</p>;
  const from = q.from ?? null;
  const to = q.to ?? null;
  return (
    <>
      <h1>Reconciliation</h1>
      <ReportWindow from={from} to={to} onChange={(f, t) => route(`${path}${query({ ...q, from: f, to: t })}`, true)} />
      <ReconciliationReport session={session} from={from} to={to} />
      <TrialBalanceSection />
      <Verifier />
    </>
  );
}

function ReportWindow({
  from,
  to,
  onChange,
}: {
  from: string | null;
  to: string | null;
  onChange: (f: string | null, t: string | null) => void;
}) {
  const [f, setF] = useState(toInput(from));
  const [t, setT] = useState(toInput(to));
  return (
    <form
      class="window"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(fromInput(f), fromInput(t));
      }}
    >
      <label for="rec-from">Loads created from (UTC)</label>
      <input id="rec-from" value={f} placeholder="the first" onInput={(e) => setF((e.target as HTMLInputElement).value)} />
      <label for="rec-to">to (UTC)</label>
      <input id="rec-to" value={t} placeholder="now" onInput={(e) => setT((e.target as HTMLInputElement).value)} />
      <button type="submit">Show</button>
    </form>
  );
}

function ReconciliationReport({ session, from, to }: { session: Session; from: string | null; to: string | null }) {
  const pages = usePages([from, to]);
  const report = useGet<Report>(`/v1/reports/reconciliation${query({ from, to, limit: 50, cursor: pages.cursor })}`);
  const runs = useGet<Page<Run>>(`/v1/reports/reconciliation/runs${query({ limit: 10 })}`);
  const r = report.data;
  return (
    <>
      <ErrorBox error={report.error} />
      {report.loading && !r && <Loading what="the report" />}
      {r && (
        <section aria-labelledby="loads-h">
          <h2 id="loads-h">Loads by status</h2>
          <p class="muted">
            As of {time(r.asOf)}; loads created {r.from ? `from ${time(r.from)}` : 'since the first'}{' '}
            {r.to ? `to ${time(r.to)}` : 'until now'}.
          </p>
          <div class="cols">
            <table data-testid="loads-by-status">
              <Head cols={['Currency', 'Status', 'Loads', 'Amount']} numeric={['Loads', 'Amount']} />
              <tbody>
                {r.loads.map((l) => (
                  <tr key={`${l.currency}-${l.status}`}>
                    <td>{l.currency}</td>
                    <td>{l.status}</td>
                    <td class="num">{l.count}</td>
                    <td class="num">{money(l.amount)}</td>
                  </tr>
                ))}
                {r.totals.map((t) => (
                  <tr key={t.currency} class="total">
                    <td>{t.currency}</td>
                    <th scope="row">all</th>
                    <td class="num">{t.count}</td>
                    <td class="num">{money(t.amount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table data-testid="ageing">
              <caption>Still open, by age since creation</caption>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  {AGES.map((a) => (
                    <th scope="col" class="num" key={a}>
                      {a}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {r.ageBuckets.map((b) => (
                  <tr key={b.status}>
                    <th scope="row">{b.status}</th>
                    {AGES.map((a) => (
                      <td class="num" key={a}>
                        {b.buckets[a]}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      <Runs
        session={session}
        runs={runs.data?.data ?? null}
        error={runs.error}
        onRun={() => {
          runs.reload();
          report.reload();
        }}
      />
      {r && (
        <section aria-labelledby="findings-h">
          <h2 id="findings-h">Findings</h2>
          <div class="table-wrap">
            <table data-testid="findings">
              <Head cols={['Found (UTC)', 'Kind', 'Load', 'Account', 'Ledger', 'EnKash', 'Evidence']} numeric={['Ledger', 'EnKash']} />
              <tbody>
                {r.data.map((f) => (
                  <tr key={f.id}>
                    <td class="mono">{time(f.foundAt)}</td>
                    <td>{f.kind}</td>
                    <td>
                      <LoadLink id={f.loadId} />
                    </td>
                    <td class="mono">{f.accountCode ?? '—'}</td>
                    <td class="num">{money(f.ledgerAmount)}</td>
                    <td class="num">{money(f.enkashAmount)}</td>
                    <td>
                      <details>
                        <summary>evidence</summary>
                        <pre>{JSON.stringify(f.evidence, null, 2)}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
                {r.data.length === 0 && <EmptyRow cols={7}>No findings in this window.</EmptyRow>}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} next={r.nextCursor} />
        </section>
      )}
    </>
  );
}

/** Runs, newest first; with ops:write, start one and watch it to its end (the API answers when it has finished). */
function Runs({ session, runs, error, onRun }: { session: Session; runs: Run[] | null; error: ApiFailure | null; onRun: () => void }) {
  const [running, setRunning] = useState<{ since: number } | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [result, setResult] = useState<Run | null>(null);
  const [runError, setRunError] = useState<ApiFailure | null>(null);
  const timer = useRef<ReturnType<typeof setInterval> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearInterval(timer.current);
    },
    [],
  );
  async function start() {
    setResult(null);
    setRunError(null);
    const since = Date.now();
    setRunning({ since });
    setElapsed(0);
    timer.current = setInterval(() => setElapsed(Math.floor((Date.now() - since) / 1000)), 500);
    try {
      setResult(await api<Run>('POST', '/v1/reports/reconciliation/runs'));
    } catch (e) {
      setRunError(asFailure(e));
    } finally {
      if (timer.current) clearInterval(timer.current);
      setRunning(null);
      onRun();
    }
  }
  return (
    <section aria-labelledby="runs-h">
      <h2 id="runs-h">Runs against EnKash</h2>
      {can(session, 'ops:write') && (
        <p>
          <button type="button" class="primary" onClick={() => void start()} disabled={running !== null}>
            {running ? 'Running…' : 'Run a reconciliation now'}
          </button>
        </p>
      )}
      <div role="status" aria-live="polite" data-testid="run-status">
        {running && <p>Running for {elapsed} s: every load settled since the last run is being looked up at EnKash…</p>}
        {result && (
          <p>
            Run <span class="mono">{shortId(result.id)}</span> {result.status}: {result.checkedLoads} loads and {result.checkedCards} cards
            checked, {result.findingsCount} findings{result.error ? ` (${result.error})` : ''}.
          </p>
        )}
      </div>
      <ErrorBox error={runError} context="Run" />
      <ErrorBox error={error} />
      {runs && (
        <div class="table-wrap">
          <table data-testid="runs">
            <Head
              cols={['Started (UTC)', 'Trigger', 'Status', 'Window', 'Loads', 'Cards', 'Findings']}
              numeric={['Loads', 'Cards', 'Findings']}
            />
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td class="mono">{time(r.startedAt)}</td>
                  <td>{r.trigger}</td>
                  <td>
                    <span class={`badge ${r.status}`}>{r.status}</span>
                    {r.error && <div class="muted">{r.error}</div>}
                  </td>
                  <td class="mono">
                    {r.windowFrom ? time(r.windowFrom) : 'the first'} → {time(r.windowTo)}
                  </td>
                  <td class="num">{r.checkedLoads}</td>
                  <td class="num">{r.checkedCards}</td>
                  <td class="num">{r.findingsCount}</td>
                </tr>
              ))}
              {runs.length === 0 && <EmptyRow cols={7}>No run yet.</EmptyRow>}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The headings of the Balances columns: of the totals per currency (plural), of an account's line. */
const TOTAL_BALANCES = ['Debit balances', 'Credit balances', 'Pending debits', 'Pending credits'];
const ACCOUNT_BALANCES = ['Debit balance', 'Credit balance', 'Pending debits', 'Pending credits'];

function BalanceCells({ of }: { of: Balances }) {
  return (
    <>
      <td class="num">{money(of.debitBalance)}</td>
      <td class="num">{money(of.creditBalance)}</td>
      <td class="num">{money(of.pendingDebits)}</td>
      <td class="num">{money(of.pendingCredits)}</td>
    </>
  );
}

function TrialBalanceSection() {
  const tb = useGet<TrialBalance>(`/v1/reports/trial-balance${query({ limit: 50 })}`);
  const t = tb.data;
  return (
    <section aria-labelledby="tb-h">
      <h2 id="tb-h">Trial balance</h2>
      <ErrorBox error={tb.error} />
      {t && (
        <>
          <p data-testid="tb-verdict">
            As of {time(t.asOf)}: <span class={`badge ${t.balanced ? 'ok' : 'bad'}`}>{t.balanced ? 'balanced' : 'NOT balanced'}</span>
          </p>
          <div class="table-wrap">
            <table>
              <caption>Totals per currency</caption>
              <Head cols={['Currency', ...TOTAL_BALANCES, 'Balanced']} numeric={TOTAL_BALANCES} />
              <tbody>
                {t.totals.map((c) => (
                  <tr key={c.currency}>
                    <th scope="row">{c.currency}</th>
                    <BalanceCells of={c} />
                    <td>{c.balanced ? 'yes' : 'NO'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table>
              <caption>
                Accounts (first {t.data.length}
                {t.nextCursor ? '; more in the API or its CSV' : ''})
              </caption>
              <Head cols={['Account', 'Normal side', ...ACCOUNT_BALANCES]} numeric={ACCOUNT_BALANCES} />
              <tbody>
                {t.data.map((a) => (
                  <tr key={a.code}>
                    <td class="mono">{a.code}</td>
                    <td>{a.normalSide}</td>
                    <BalanceCells of={a} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>
            <a class="button" href={`/v1/reports/trial-balance${query({ format: 'csv', asOf: t.asOf })}`} download>
              Trial balance as of {time(t.asOf)} (CSV)
            </a>
          </p>
        </>
      )}
    </section>
  );
}

/**
 * The hash chain verifier: its latest verdict when the service keeps one (GET /v1/audit/verify/latest), else a run
 * now (GET /v1/audit/verify); "Verify again" runs it now. Signed checkpoints are listed where the service keeps them.
 */
function Verifier() {
  const [last, setLast] = useState(lastVerdict);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const checkpoints = useGet<Page<Checkpoint>>(`/v1/audit/checkpoints${query({ limit: 5 })}`);
  async function verify(latestFirst: boolean) {
    setBusy(true);
    setError(null);
    try {
      const latest = latestFirst
        ? await api<Verdict>('GET', '/v1/audit/verify/latest').catch((e: unknown) => {
            if (e instanceof ApiFailure && e.status === 404) return null;
            throw e;
          })
        : null;
      const verdict = latest ?? (await api<Verdict>('GET', '/v1/audit/verify'));
      lastVerdict = { at: verdict.finishedAt ?? new Date().toISOString(), verdict };
      setLast(lastVerdict);
    } catch (e) {
      setError(asFailure(e));
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    if (!lastVerdict) void verify(true);
  }, []);
  const v = last?.verdict;
  return (
    <section aria-labelledby="verify-h">
      <h2 id="verify-h">Hash chain</h2>
      <div role="status" aria-live="polite" data-testid="verifier">
        {busy && <p>Verifying every seal…</p>}
        {v && v.ok && (
          <p>
            <span class="badge ok">intact</span> {v.checkedTransactions} sealed transactions verified
            {v.unsealedTransactions ? `, ${v.unsealedTransactions} not sealed yet` : ''}
            {v.checkpoints ? `, held to ${v.checkpoints.checked} signed checkpoints` : ''} (checked {time(last.at)}
            {v.trigger ? `, ${v.trigger}` : ''}).
          </p>
        )}
        {v && !v.ok && (
          <p>
            <span class="badge bad">BROKEN</span>
            {v.seq !== undefined ? ` at seal #${v.seq}` : ''}
            {v.brokenAt && (
              <>
                , <code>{v.brokenAt}</code>
              </>
            )}
            {v.reason ? `: ${v.reason}` : ''} ({v.checkedTransactions} verified; checked {time(last.at)}).
          </p>
        )}
      </div>
      {v?.findings && v.findings.length > 0 && (
        <ul data-testid="verifier-findings">
          {v.findings.map((f, i) => (
            <li key={i}>
              <strong>{f.check}</strong> <code>{f.row}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={error} context="Verify" />
      <button type="button" onClick={() => void verify(false)} disabled={busy}>
        Verify again
      </button>
      {checkpoints.data && (
        <div class="table-wrap">
          <table data-testid="checkpoints">
            <caption>Signed checkpoints, newest first</caption>
            <Head cols={['Seal', 'Signed document']} numeric={['Seal']} />
            <tbody>
              {checkpoints.data.data.map((c) => (
                <tr key={c.seq}>
                  <td class="num">{c.seq}</td>
                  <td>
                    <code class="wrap">{c.document}</code>
                  </td>
                </tr>
              ))}
              {checkpoints.data.data.length === 0 && <EmptyRow cols={2}>No checkpoint signed yet.</EmptyRow>}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
