import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface SeriesPoint {
  seq: number;
  at: string;
  pendingBalance: string;
  postedBalance: string;
}
export interface Series {
  enKashCardId: string;
  currency: string;
  from: string;
  to: string;
  buckets: number;
  rule: string;
  historyRows: number;
  points: SeriesPoint[];
}

const POSTED = '#1b5e20';
const PENDING = '#a04000';
const CURSOR = '#1f3c88';
/** How close (CSS px) a press must be to the cursor line to drag it rather than select a window. */
const GRAB_PX = 8;

/**
 * The two balances as step lines (a balance holds until the next change), drawn by uPlot from the points the
 * service kept (GET /v1/cards/{id}/balance-series: at most a few per pixel, whatever the history's length). The
 * amounts are the API's strings, turned into numbers for drawing only. The asOf cursor is a vertical line: click
 * or drag it; dragging across the chart selects a window to zoom into.
 */
export function BalanceChart({
  series,
  asOf,
  onAsOf,
  onZoom,
}: {
  series: Series;
  asOf: string | null;
  onAsOf: (iso: string) => void;
  onZoom: (from: string, to: string) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const cursorSec = useRef<number | null>(asOf ? Date.parse(asOf) / 1000 : null);
  const handlers = useRef({ onAsOf, onZoom });
  handlers.current = { onAsOf, onZoom };

  useEffect(() => {
    const el = box.current!;
    const fromSec = Date.parse(series.from) / 1000;
    const toSec = Date.parse(series.to) / 1000;
    const xs: number[] = [];
    const posted: number[] = [];
    const pending: number[] = [];
    for (const p of series.points) {
      xs.push(Date.parse(p.at) / 1000);
      posted.push(Number(p.postedBalance));
      pending.push(Number(p.pendingBalance));
    }
    // The last balance holds to the window's end: drawn to the right edge, not computed.
    if (xs.length > 0 && xs[xs.length - 1] < toSec) {
      xs.push(toSec);
      posted.push(posted[posted.length - 1]);
      pending.push(pending[pending.length - 1]);
    }
    const stepped = uPlot.paths.stepped!({ align: 1 });
    const fmt = (_u: uPlot, v: number | null) => (v == null ? '—' : `${v.toFixed(2)} ${series.currency}`);
    let zoomed = false;
    performance.mark('console:card-chart-start');
    const u = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height: 320,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true, range: [fromSec, toSec] } },
        series: [
          { label: 'Time (UTC)' },
          { label: 'Posted', stroke: POSTED, width: 2, paths: stepped, value: fmt, points: { show: false } },
          { label: 'Pending', stroke: PENDING, width: 2, dash: [6, 4], paths: stepped, value: fmt, points: { show: false } },
        ],
        axes: [{}, { size: 90, values: (_u, ticks) => ticks.map((t) => t.toFixed(2)) }],
        cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
        legend: { live: true },
        hooks: {
          draw: [(self) => drawCursor(self, cursorSec.current)],
          setSelect: [
            (self) => {
              if (self.select.width < 4) return;
              const f = self.posToVal(self.select.left, 'x');
              const t = self.posToVal(self.select.left + self.select.width, 'x');
              self.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              zoomed = true;
              handlers.current.onZoom(new Date(Math.round(f * 1000)).toISOString(), new Date(Math.round(t * 1000)).toISOString());
            },
          ],
        },
      },
      [xs, posted, pending],
      el,
    );
    plot.current = u;
    performance.mark('console:card-chart-drawn');

    // The cursor line: pressed near it, it follows the pointer; released, its moment is read from the API.
    let dragging = false;
    const valueAt = (clientX: number) => {
      const rect = u.over.getBoundingClientRect();
      const x = Math.min(Math.max(clientX - rect.left, 0), rect.width);
      return u.posToVal(x, 'x');
    };
    const near = (clientX: number) => {
      if (cursorSec.current === null) return false;
      const rect = u.over.getBoundingClientRect();
      return Math.abs(clientX - rect.left - u.valToPos(cursorSec.current, 'x')) <= GRAB_PX;
    };
    const down = (e: MouseEvent) => {
      if (!u.over.contains(e.target as Node) || !near(e.clientX)) return;
      dragging = true;
      e.stopPropagation();
      e.preventDefault();
    };
    const move = (e: MouseEvent) => {
      if (!dragging) return;
      cursorSec.current = valueAt(e.clientX);
      u.redraw(false);
    };
    const up = (e: MouseEvent) => {
      if (!dragging) return;
      dragging = false;
      cursorSec.current = valueAt(e.clientX);
      handlers.current.onAsOf(new Date(Math.round(cursorSec.current * 1000)).toISOString());
    };
    const click = (e: MouseEvent) => {
      if (zoomed) {
        zoomed = false;
        return;
      }
      cursorSec.current = valueAt(e.clientX);
      u.redraw(false);
      handlers.current.onAsOf(new Date(Math.round(cursorSec.current * 1000)).toISOString());
    };
    u.root.addEventListener('mousedown', down, true);
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
    u.over.addEventListener('click', click);
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(320, el.clientWidth), height: 320 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      u.destroy();
      plot.current = null;
    };
  }, [series]);

  useEffect(() => {
    cursorSec.current = asOf ? Date.parse(asOf) / 1000 : null;
    plot.current?.redraw(false);
  }, [asOf]);

  const last = series.points[series.points.length - 1];
  return (
    <figure class="chart">
      <div
        ref={box}
        data-testid="balance-chart"
        data-points={series.points.length}
        data-history-rows={series.historyRows}
        data-last-posted={last?.postedBalance}
        data-last-pending={last?.pendingBalance}
        data-last-seq={last?.seq}
        role="img"
        aria-label={
          `Posted and pending balance of card ${series.enKashCardId} from ${series.from} to ${series.to}; ` +
          (last
            ? `latest posted ${last.postedBalance} ${series.currency}, pending ${last.pendingBalance} ${series.currency}`
            : 'no changes')
        }
      />
      <figcaption class="muted">
        {series.historyRows.toLocaleString('en')} history rows in this window, drawn from {series.points.length.toLocaleString('en')} points
        the service kept ({series.rule.toUpperCase()}, {series.buckets} buckets). Solid: posted; dashed: pending.
      </figcaption>
    </figure>
  );
}

function drawCursor(u: uPlot, sec: number | null): void {
  if (sec === null) return;
  const x = Math.round(u.valToPos(sec, 'x', true));
  const { top, height, left, width } = u.bbox;
  if (x < left || x > left + width) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = CURSOR;
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.beginPath();
  ctx.moveTo(x, top);
  ctx.lineTo(x, top + height);
  ctx.stroke();
  ctx.fillStyle = CURSOR;
  ctx.fillRect(x - 5 * devicePixelRatio, top, 10 * devicePixelRatio, 10 * devicePixelRatio);
  ctx.restore();
}
