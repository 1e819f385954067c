/**
 * `npm run bench:audit -- --loads 1000000 [--before <old dist/src/main.js>] [--reuse]` (docs/audit.md, docs/time.md):
 * fills a ledger through the bulk intake endpoint, then measures
 * - what the stable past costs an asOf read: the same card balance reads, interleaved, against this build and,
 *   with --before, the build from before the watermark (same database, same run): asOf in the past, asOf = now,
 *   and a live balance;
 * - how long the complete verifier takes on that ledger (GET /v1/audit/verify), with the table sizes.
 * Appends an "Audit" section to bench/RESULTS.md.
 */
import { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { benchHeaders as headers, fillThroughBatches, startBenchService } from './bench-service';
import { databaseUrlOn, freshDatabase } from './fresh-database';

const ROOT = path.resolve(__dirname, '../..');
const { values: args } = parseArgs({
  options: {
    loads: { type: 'string', default: '1000000' },
    cards: { type: 'string', default: '10000' },
    before: { type: 'string' },
    reuse: { type: 'boolean', default: false },
    reads: { type: 'string', default: '500' },
    verifies: { type: 'string', default: '2' },
  },
});
const LOADS = Number(args.loads);
const CARDS = Number(args.cards);
const READS = Number(args.reads);
const card = (i: number) => `EKCA${String(i % CARDS).padStart(6, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)], p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] };
};

async function get(base: string, p: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}${p}`, { headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-audit-bench-'));
  let url = process.env.DATABASE_URL ?? '';
  let stopPg: (() => Promise<void>) | null = null;
  const procs: ChildProcess[] = [];
  try {
    if (!url) {
      const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), () => undefined, 'postgres');
      url = pg.url;
      stopPg = () => pg.stop();
    }
    const db = args.reuse ? databaseUrlOn(url, 'card_ledger_audit') : await freshDatabase(url, 'card_ledger_audit');
    const env = (dataDir: string) => ({ DATA_DIR: dataDir, AUDIT_SEAL_KEY: 'audit-bench-seal-key-0123456789abcdef' });
    const now = await startBenchService(path.join(ROOT, 'dist/src/main.js'), db, env(path.join(dir, 'now')));
    procs.push(now.proc);
    const rate = args.reuse ? null : await fillThroughBatches(now.base, LOADS, card, 'audit');
    const c = new Client({ connectionString: db });
    await c.connect();
    while (Number((await c.query(`SELECT count(*) AS n FROM journal_unsealed`)).rows[0].n) > 0) await sleep(1000);
    await c.query('ANALYZE');
    const sizes = (
      await c.query(`SELECT (SELECT count(*) FROM card_loads) AS loads, (SELECT count(*) FROM journal_transactions) AS txs,
      (SELECT count(*) FROM journal_entries) AS entries, (SELECT count(*) FROM account_history) AS history,
      (SELECT count(*) FROM accounts) AS accounts, pg_size_pretty(pg_database_size(current_database())) AS size`)
    ).rows[0];
    const [{ lo, hi }] = (await c.query(`SELECT min(created_at) AS lo, max(created_at) AS hi FROM card_loads`)).rows;
    await c.end();

    // Reads: the same paths against both builds, interleaved request by request, in one run.
    const before = args.before ? await startBenchService(args.before, db, env(path.join(dir, 'before'))) : null;
    if (before) procs.push(before.proc);
    const span = new Date(hi).getTime() - new Date(lo).getTime();
    // Moments after every card's first load (a moment before a card existed is rightly a 404).
    const after = Math.min(0.9, (1.5 * CARDS) / LOADS + 0.01);
    const past = (i: number) =>
      new Date(new Date(lo).getTime() + (after + (1 - after) * (((i * 7919) % 1000) / 1000)) * span).toISOString();
    const kinds: Array<[string, (i: number) => string]> = [
      ['card balance, asOf in the past', (i) => `/v1/cards/${card(i * 37)}/balance?asOf=${past(i)}`],
      ['card balance, asOf = now', (i) => `/v1/cards/${card(i * 37)}/balance?asOf=${new Date().toISOString()}`],
      ['card balance, live (no asOf)', (i) => `/v1/cards/${card(i * 37)}/balance`],
    ];
    const rows: string[] = [];
    const measure = async (label: string) => {
      for (const [name, p] of kinds) {
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < 20; i++) {
          await get(now.base, p(i));
          if (before) await get(before.base, p(i));
        } // warm both
        for (let i = 0; i < READS; i++) {
          if (before) b.push(await get(before.base, p(i)));
          a.push(await get(now.base, p(i)));
        }
        const [sa, sb] = [stats(a), before ? stats(b) : null];
        const cell = (x: { p50: number; p99: number } | null) => (x ? `${x.p50.toFixed(2)} / ${x.p99.toFixed(2)} ms` : '-');
        rows.push(`| ${name}${label} | ${cell(sb)} | ${cell(sa)} |`);
      }
    };
    await measure('');
    // The same reads while bulk intake goes on (two batches of 1,000 in flight): a read as of now waits for the
    // intake transactions in flight at its moment.
    let writing = true;
    let written = 0;
    const writer = async (w: number) => {
      for (let n = 0; writing; n++) {
        const batch = Array.from({ length: 1000 }, (_, j) => ({
          idempotencyKey: `audit-load-${w}-${n}-${j}`,
          enKashCardId: card(j * 7 + w),
          amount: '1.00',
        }));
        const res = await fetch(`${now.base}/v1/card-loads/batch`, { method: 'POST', headers, body: JSON.stringify({ loads: batch }) });
        if (res.status !== 200) throw new Error(`batch under load: ${res.status}`);
        written += 1000;
      }
    };
    const writers = [writer(1), writer(2)];
    await sleep(2000);
    await measure(', during bulk intake');
    writing = false;
    await Promise.all(writers);
    const c2 = new Client({ connectionString: db });
    await c2.connect();
    while (Number((await c2.query(`SELECT count(*) AS n FROM journal_unsealed`)).rows[0].n) > 0) await sleep(1000);
    await c2.end();

    const verifies: Array<{ ms: number; ok: boolean; checked: number }> = [];
    for (let i = 0; i < Number(args.verifies); i++) {
      const t0 = performance.now();
      const res = await fetch(`${now.base}/v1/audit/verify`, { headers });
      const body = (await res.json()) as { ok: boolean; checkedTransactions: number; durationMs: number; findings: unknown[] };
      if (res.status !== 200) throw new Error(`verify: ${res.status}`);
      if (!body.ok) throw new Error(`verify found problems: ${JSON.stringify(body.findings).slice(0, 500)}`);
      verifies.push({ ms: performance.now() - t0, ok: body.ok, checked: body.checkedTransactions });
    }

    const lines = [
      '',
      `## Audit (${LOADS.toLocaleString('en')} loads on ${CARDS.toLocaleString('en')} cards)`,
      '',
      `Command: \`npm run bench:audit -- --loads ${LOADS}${args.before ? ' --before <build of the commit before the watermark>' : ''}\`` +
        ` (${process.env.DATABASE_URL ? 'DATABASE_URL server' : 'embedded Postgres'}), ${new Date().toISOString()}.`,
      rate === null
        ? 'Ledger filled by an earlier run (`--reuse`).'
        : `Filled through \`POST /v1/card-loads/batch\` at ${rate.toFixed(0)} loads/s.`,
      `Ledger: ${Number(sizes.loads).toLocaleString('en')} loads, ${Number(sizes.txs).toLocaleString('en')} journal transactions, ` +
        `${Number(sizes.entries).toLocaleString('en')} entries, ${Number(sizes.history).toLocaleString('en')} history rows, ` +
        `${Number(sizes.accounts).toLocaleString('en')} accounts, ${sizes.size}.`,
      '',
      `Reads, p50 / p99 over ${READS} requests each, one at a time, the two builds interleaved (during bulk intake: two batches of` +
        ` 1,000 loads in flight throughout, ${written.toLocaleString('en')} loads written meanwhile):`,
      '',
      '| read | before (no watermark) | after (stable past) |',
      '|---|---|---|',
      ...rows,
      '',
      `Complete verifier (\`GET /v1/audit/verify\`, ${verifies[0]?.checked.toLocaleString('en')} seals walked): ` +
        verifies.map((v) => `${(v.ms / 1000).toFixed(1)} s`).join(', ') +
        '.',
      '',
    ];
    appendFileSync(path.join(ROOT, 'bench/RESULTS.md'), lines.join('\n'));
    process.stdout.write(lines.join('\n'));
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await sleep(1000);
    await stopPg?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`audit bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
