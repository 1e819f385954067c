import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiFailure, Session, api, can, query } from '../api';
import { ErrorBox, Loading } from '../components/error-box';
import { fromInput, money, time, toInput } from '../format';
import { asFailure, useGet, useInterval } from '../hooks';
import { BalanceChart, Series } from './card-chart';
import { HistoryTable } from './card-history';

const CARD_ID = /^[A-Z0-9]{6,20}$/;

export function CardSearch({ initial = '' }: { initial?: string }) {
  const { route } = useLocation();
  const [value, setValue] = useState(initial);
  const valid = CARD_ID.test(value.trim().toUpperCase());
  return (
    <form
      class="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) route(`/console/cards/${value.trim().toUpperCase()}`);
      }}
    >
      <label for="card-search">EnKash card id</label>
      <input
        id="card-search"
        name="card"
        value={value}
        placeholder="EKCMB7KAEW"
        autoComplete="off"
        spellcheck={false}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        aria-describedby="card-search-help"
      />
      <button type="submit" disabled={!valid}>
        Show card
      </button>
      <span id="card-search-help" class="muted">
        6 to 20 capital letters or digits
      </span>
    </form>
  );
}

interface Balance {
  enKashCardId: string;
  currency: string;
  posted: string;
  pending: string;
  asOf: string;
}

/**
 * /console/cards/:card?from=&to=&asOf=: the card's pending and posted balance over a window (downsampled by the
 * service), a cursor whose balance is the API's `asOf` answer, and the history under it. While the window runs
 * to "now" the page watches the balance and redraws when it moves (a load settling).
 */
export function CardPage({ session, params }: { session: Session; params: { card?: string } }) {
  const { query: q, path, route } = useLocation();
  const card = params.card;
  const setQuery = (next: Record<string, string | null>) => route(`${path}${query({ ...q, ...next })}`, true);
  if (!can(session, 'ledger:read')) return <p>This key cannot read balances (it needs ledger:read).</p>;
  return (
    <>
      <h1>
        {card ? (
          <>
            Card <span class="mono">{card}</span>
          </>
        ) : (
          'Cards'
        )}
      </h1>
      <CardSearch key={card} initial={card ?? ''} />
      {card && <CardView card={card} from={q.from ?? null} to={q.to ?? null} asOf={q.asOf ?? null} setQuery={setQuery} />}
    </>
  );
}

function CardView({
  card,
  from,
  to,
  asOf,
  setQuery,
}: {
  card: string;
  from: string | null;
  to: string | null;
  asOf: string | null;
  setQuery: (q: Record<string, string | null>) => void;
}) {
  const chartBox = useRef<HTMLDivElement>(null);
  const [buckets, setBuckets] = useState<number | null>(null);
  useEffect(() => setBuckets(Math.max(50, Math.min(2000, Math.round(chartBox.current?.clientWidth ?? 900)))), []);
  const seriesPath = buckets === null ? null : `/v1/cards/${card}/balance-series${query({ from, to, buckets })}`;
  const series = useGet<Series>(seriesPath);
  const now = useGet<Balance>(`/v1/cards/${card}/balance`);
  const [historyTick, setHistoryTick] = useState(0);
  // Live: while the window runs to now, the chart's last point must be the balance now; when the balance moves (a load
  // accepted or settled) the chart, the figures and the table are read again.
  const drawn = useRef<Series | null>(null);
  drawn.current = series.data;
  useInterval(
    () => {
      api<Balance>('GET', `/v1/cards/${card}/balance`).then(
        (b) => {
          const last = drawn.current?.points[drawn.current.points.length - 1];
          if (!last || (last.postedBalance === b.posted && last.pendingBalance === b.pending)) return;
          series.reload();
          now.reload();
          setHistoryTick((t) => t + 1);
        },
        () => undefined,
      );
    },
    to === null ? 2000 : null,
  );

  return (
    <>
      <section aria-labelledby="now-h">
        <h2 id="now-h" class="visually-hidden">
          Balance now
        </h2>
        <ErrorBox error={now.error} context="Balance" />
        {now.data && (
          <p class="figures" data-testid="balance-now">
            Now: posted <strong>{money(now.data.posted, now.data.currency)}</strong>, pending{' '}
            <strong>{money(now.data.pending, now.data.currency)}</strong>
            <span class="muted"> (as of {time(now.data.asOf)})</span>
          </p>
        )}
      </section>
      <section aria-labelledby="chart-h">
        <h2 id="chart-h">Balance over time</h2>
        <WindowForm from={from} to={to} series={series.data} setQuery={setQuery} />
        <div ref={chartBox} class="chart-box">
          <ErrorBox error={series.error} context="Balance series" />
          {series.loading && !series.data && <Loading what="the balance series" />}
          {series.data && (
            <BalanceChart
              series={series.data}
              asOf={asOf}
              onAsOf={(iso) => setQuery({ asOf: iso })}
              onZoom={(f, t) => setQuery({ from: f, to: t })}
            />
          )}
        </div>
        {series.data && <AsOf card={card} series={series.data} asOf={asOf} setAsOf={(iso) => setQuery({ asOf: iso })} />}
      </section>
      <HistoryTable card={card} from={from} to={to} refresh={historyTick} />
    </>
  );
}

function WindowForm({
  from,
  to,
  series,
  setQuery,
}: {
  from: string | null;
  to: string | null;
  series: Series | null;
  setQuery: (q: Record<string, string | null>) => void;
}) {
  const [f, setF] = useState(toInput(from));
  const [t, setT] = useState(toInput(to));
  useEffect(() => {
    setF(toInput(from));
    setT(toInput(to));
  }, [from, to]);
  return (
    <form
      class="window"
      onSubmit={(e) => {
        e.preventDefault();
        setQuery({ from: fromInput(f), to: fromInput(t), asOf: null });
      }}
    >
      <label for="win-from">From (UTC)</label>
      <input
        id="win-from"
        value={f}
        placeholder={series ? toInput(series.from) : "the card's opening"}
        onInput={(e) => setF((e.target as HTMLInputElement).value)}
      />
      <label for="win-to">To (UTC)</label>
      <input id="win-to" value={t} placeholder="now" onInput={(e) => setT((e.target as HTMLInputElement).value)} />
      <button type="submit">Show window</button>
      <button type="button" onClick={() => setQuery({ from: null, to: null })} disabled={!from && !to}>
        Whole life
      </button>
      <span class="muted">Drag across the chart to zoom; click it (or drag the cursor line) to read the balance at a moment.</span>
    </form>
  );
}

/**
 * The asOf cursor's reading: the API's answer for that moment, shown as it came (its `asOf` included). A range
 * input moves the same cursor from the keyboard.
 */
function AsOf({
  card,
  series,
  asOf,
  setAsOf,
}: {
  card: string;
  series: Series;
  asOf: string | null;
  setAsOf: (iso: string | null) => void;
}) {
  const [answer, setAnswer] = useState<Balance | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [slider, setSlider] = useState<number | null>(null);
  const latest = useRef(0);
  useEffect(() => {
    setSlider(null);
    if (!asOf) {
      setAnswer(null);
      setError(null);
      return;
    }
    const mine = ++latest.current;
    const timer = setTimeout(() => {
      api<Balance>('GET', `/v1/cards/${card}/balance${query({ asOf })}`).then(
        (b) => {
          if (mine === latest.current) {
            setAnswer(b);
            setError(null);
          }
        },
        (e: unknown) => {
          if (mine === latest.current) {
            setAnswer(null);
            setError(asFailure(e));
          }
        },
      );
    }, 120);
    return () => clearTimeout(timer);
  }, [card, asOf]);
  const fromMs = Date.parse(series.from);
  const toMs = Date.parse(series.to);
  const value = slider ?? (asOf ? Date.parse(asOf) : toMs);
  const step = Math.max(1, Math.round((toMs - fromMs) / 1000));
  return (
    <div class="asof" data-testid="asof-panel">
      <label for="asof-range">As of</label>
      <input
        id="asof-range"
        type="range"
        min={fromMs}
        max={toMs}
        step={step}
        value={value}
        aria-valuetext={new Date(value).toISOString()}
        onInput={(e) => setSlider(Number((e.target as HTMLInputElement).value))}
        onChange={(e) => setAsOf(new Date(Number((e.target as HTMLInputElement).value)).toISOString())}
      />
      <output for="asof-range" aria-live="polite" data-testid="asof-answer">
        {!asOf && <span class="muted">Click the chart or move this slider to read the balance at a moment.</span>}
        {asOf && !answer && !error && <span class="muted">Asking for {time(asOf)}…</span>}
        {answer && (
          <span data-asof={answer.asOf} data-posted={answer.posted} data-pending={answer.pending}>
            As of <strong>{time(answer.asOf)}</strong>: posted <strong>{money(answer.posted, answer.currency)}</strong>, pending{' '}
            <strong>{money(answer.pending, answer.currency)}</strong>
          </span>
        )}
      </output>
      {asOf && (
        <button type="button" onClick={() => setAsOf(null)}>
          Clear cursor
        </button>
      )}
      <ErrorBox error={error} context="Balance as of the cursor" />
    </div>
  );
}
