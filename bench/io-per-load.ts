/**
 * `node dist/bench/io-per-load.js --database-url <a filled ledger> [--loads 8] [--calls 300] [--ids v7|v4]`: what
 * `card_load_intake` costs in pages on an existing ledger, per relation: pages touched (hits and reads) and pages read
 * from outside shared_buffers, per load, from `pg_statio_user_tables` / `pg_statio_user_indexes` around C calls of N
 * loads. The loads go onto the cards and parent of a ledger that `npm run bench:scale` filled (EKCX000000…, CABFIPS),
 * so no account is made; `--ids v4` makes the ids random, as the service did before its ids were time-ordered. It
 * writes loads into that ledger (pending, with their jobs). Nothing else should use the database meanwhile.
 */
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { v4, v7 } from 'uuid';
import { cardLoadIntakeCall } from '../src/card-loads/card-loads.store';
import { benchLoadRow } from './load-rows';

type Counts = Map<string, { touched: number; read: number }>;

async function counts(c: Client): Promise<Counts> {
  await c.query('SELECT pg_stat_clear_snapshot()');
  const rows = (
    await c.query<{ name: string; touched: string; read: string }>(
      `SELECT relname AS name, coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) AS touched, coalesce(heap_blks_read, 0) AS read
       FROM pg_statio_user_tables
       UNION ALL SELECT indexrelname, idx_blks_hit + idx_blks_read, idx_blks_read FROM pg_statio_user_indexes`,
    )
  ).rows;
  return new Map(rows.map((r) => [r.name, { touched: Number(r.touched), read: Number(r.read) }]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      loads: { type: 'string', default: '8' },
      calls: { type: 'string', default: '300' },
      ids: { type: 'string', default: 'v7' },
    },
  });
  const [n, calls] = [Number(values.loads), Number(values.calls)];
  const newId = values.ids === 'v4' ? v4 : v7;
  if (!values['database-url'] || !(n >= 1 && n <= 1000) || !(calls >= 1)) throw new Error('usage: see the comment at the top');
  const c = new Client({ connectionString: values['database-url'] });
  await c.connect();
  try {
    const [key] = (await c.query<{ id: string }>(`SELECT id FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1`)).rows;
    const call = () => {
      const rows = Array.from({ length: n }, () =>
        benchLoadRow({
          apiKeyId: key.id,
          card: `EKCX${String(Math.floor(Math.random() * 10_000)).padStart(6, '0')}`,
          cardAccountId: 'CABFIPS',
          newId,
        }),
      );
      return c.query(...cardLoadIntakeCall(rows));
    };
    for (let i = 0; i < 50; i++) await call(); // plans made, the newest pages in memory
    const before = await counts(c);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await call();
    const us = ((performance.now() - t0) * 1000) / calls;
    await new Promise((r) => setTimeout(r, 1000)); // the statistics are sent at most every 500 ms
    const after = await counts(c);
    const loads = n * calls;
    const per = [...after].map(([name, a]) => {
      const b = before.get(name) ?? { touched: 0, read: 0 };
      return { name, touched: (a.touched - b.touched) / loads, read: (a.read - b.read) / loads };
    });
    const sum = (k: 'touched' | 'read') => per.reduce((s, r) => s + r[k], 0);
    console.log(
      `${n} loads a call, ${values.ids} ids: ${us.toFixed(0)} µs per call; pages per load touched ${sum('touched').toFixed(1)}, ` +
        `read from outside shared_buffers ${sum('read').toFixed(2)}`,
    );
    for (const r of per
      .filter((x) => x.touched > 0.05)
      .sort((x, y) => y.read - x.read || y.touched - x.touched)
      .slice(0, 20))
      console.log(`${r.touched.toFixed(2).padStart(8)} ${r.read.toFixed(2).padStart(7)}  ${r.name}`);
  } finally {
    await c.end();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
