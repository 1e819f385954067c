/**
 * `npm run bench:console [-- --loads 50000]`: the console's card page for a card with 100,000 history rows (50,000
 * loads, each pending then posted). Fills the card through the bulk endpoint, lets the in-process simulator settle
 * every load, then opens /console/cards/<card> in Debian's Chromium and times the first render of the chart (from
 * navigation start to the chart's first draw, `performance.mark('console:card-chart-drawn')`). Beside it: the
 * balance-series request alone, the raw SQL read of every row (what a chart without downsampling would need), and
 * paging the whole history through the API. Appends a section to bench/RESULTS.md.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { fillThroughBatches } from './bench-service';
import { chromiumMissing, launchChromium, signedIn } from './browser';
import { benchDatabase, sleep, spawnService } from './service-process';

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'console-bench-admin-key-0123456789';
const CARD = 'EKCBENCH01';
const { values: args } = parseArgs({ options: { loads: { type: 'string', default: '50000' }, runs: { type: 'string', default: '7' } } });
const LOADS = Number(args.loads);
const RUNS = Number(args.runs);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs: number[]) => Math.max(...xs);

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) throw new Error(`the console bench needs a browser: ${missing}`);
  const db = await benchDatabase('card_ledger_console_bench');
  const service = await spawnService({
    DATABASE_URL: db.url,
    // The run's own audit key and head, never the working directory's .data (a later test run there would read them).
    DATA_DIR: db.dataDir,
    ADMIN_API_KEY: ADMIN,
    RATE_LIMIT_PER_MINUTE: '100000000',
    SYNC_CONCURRENCY: '32',
  });
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const get = async (p: string) => {
    const res = await fetch(`${service.url}${p}`, { headers });
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- bench
  };
  try {
    // Fill: 1,000 loads a request, 2 in flight, all on one card; the worker settles them meanwhile.
    const fillStarted = performance.now();
    await fillThroughBatches(service.url, LOADS, () => CARD, 'console-bench', {
      amount: (i) => `${1 + (i % 97)}.${String(i % 100).padStart(2, '0')}`,
      inFlight: 2,
      headers,
    });
    for (;;) {
      const pending = await get(`/v1/card-loads?enKashCardId=${CARD}&status=pending&limit=1`);
      if (pending.data.length === 0) break;
      await sleep(1000);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const whole = await get(`/v1/cards/${CARD}/balance-series?buckets=1`);
    const rows = whole.historyRows as number;
    process.stdout.write(`filled ${LOADS} loads (${rows} history rows, the opening row included) in ${fillSeconds.toFixed(0)} s\n`);

    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    await sql.query('ANALYZE');
    const [{ id }] = (await sql.query(`SELECT id FROM accounts WHERE code = $1`, [`card:${CARD}`])).rows;
    const rawMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await sql.query(
        `SELECT seq, at, pending_debits, pending_credits, posted_debits, posted_credits FROM account_history
         WHERE account_id = $1 ORDER BY seq`,
        [id],
      );
      rawMs.push(performance.now() - t0);
    }
    await sql.end();

    // The series request alone, as the page asks for it at 1280 px (1,235 buckets).
    const seriesMs: number[] = [];
    let points = 0;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      points = (await get(`/v1/cards/${CARD}/balance-series?buckets=1235`)).points.length;
      seriesMs.push(performance.now() - t0);
    }
    // What drawing every row would take through the API: the whole history, 500 rows a page.
    const pagingStarted = performance.now();
    let cursor: string | null = null;
    do {
      const page: { nextCursor: string | null } = await get(`/v1/cards/${CARD}/history?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      cursor = page.nextCursor;
    } while (cursor);
    const pagingMs = performance.now() - pagingStarted;

    const browser = await launchChromium();
    const render: number[] = [];
    const seriesInPage: number[] = [];
    const draw: number[] = [];
    try {
      const { page } = await signedIn(browser, service.url, ADMIN);
      for (let i = 0; i < RUNS; i++) {
        await page.goto(`/console/cards/${CARD}`);
        await page.waitForFunction(() => performance.getEntriesByName('console:card-chart-drawn').length > 0, undefined, {
          timeout: 60_000,
        });
        const t = await page.evaluate(() => {
          const series = performance.getEntriesByType('resource').find((e) => e.name.includes('/balance-series')) as unknown as {
            startTime: number;
            responseEnd: number;
          };
          const drawn = performance.getEntriesByName('console:card-chart-drawn')[0].startTime;
          return {
            drawn,
            series: series.responseEnd - series.startTime,
            draw: drawn - performance.getEntriesByName('console:card-chart-start')[0].startTime,
          };
        });
        render.push(t.drawn);
        seriesInPage.push(t.series);
        draw.push(t.draw);
      }
    } finally {
      await browser.close();
    }
    const where = process.env.DATABASE_URL ? 'DATABASE_URL server' : 'embedded Postgres';
    const row = (name: string, ms: number[], digits: number, target = '') =>
      `| ${name} | ${ms[0].toFixed(digits)} ms | ${median(ms).toFixed(digits)} ms | ${max(ms).toFixed(digits)} ms | ${target} |`;
    const lines = [
      '',
      `## Console: first render of a card page with ${(rows - 1).toLocaleString('en')} history rows`,
      '',
      `Command: \`npm run bench:console -- --loads ${LOADS}\` (${where}), ` +
        `${new Date().toISOString()}, Chromium at 1280×900, service, database and browser on the same 2 cores.`,
      '',
      `The card was filled through \`POST /v1/card-loads/batch\` and settled by the in-process simulator in ${fillSeconds.toFixed(0)} s. ` +
        `Time to first render = navigation start to the chart's first draw (\`performance.mark('console:card-chart-drawn')\`): the page, ` +
        'its assets, the session check, the balance-series request and uPlot drawing it.',
      '',
      '| figure | first navigation | median | max | target |',
      '|---|---|---|---|---|',
      row('time to first render of the card page', render, 0, '< 1,000 ms'),
      row('balance-series request, in the page', seriesInPage, 0),
      row('uPlot drawing the series (mark to mark)', draw, 1),
      row(`balance-series request alone (1,235 buckets → ${points.toLocaleString('en')} points)`, seriesMs, 0),
      row('raw SQL: every row of the card, no downsampling', rawMs, 0),
      `| the whole history through the API (500 a page) | ${pagingMs.toFixed(0)} ms | | | |`,
      '',
      `The series endpoint answers in ${(median(seriesMs) / median(rawMs)).toFixed(2)} × the time of the raw SQL read of every row, ` +
        'and sends ' +
        `${points.toLocaleString('en')} points instead of ${rows.toLocaleString('en')} rows.`,
      '',
    ];
    appendFileSync(path.join(ROOT, 'bench/RESULTS.md'), lines.join('\n'));
    process.stdout.write(lines.join('\n'));
  } finally {
    await service.stop();
    await db.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
