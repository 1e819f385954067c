/**
 * `npm run build && node dist/bench/query-promotion.js [--seconds 10]` on DATABASE_URL's `card_ledger_scale` (a ledger
 * `bench:scale --fill-only` filled): history pages read one after another through one pg pool, and the bytes per page
 * that V8's sampling heap profiler saw survive the young generation (objects a scavenge freed left out, objects a full
 * collection freed kept in): what every scavenge has to copy. Three processes, one per way of reading:
 * - `promise`: a client checked out, `await client.query()`, given back: what TypeORM's query runner does;
 * - `callback`: node-postgres's callback form (`pool.query(sql, args, cb)`);
 * - `promise,callback`: the promise form first, then the callback form in the same process.
 * bench/RESULTS.md, "Issue 17, nineteenth step", says what it showed.
 */
import { spawnSync } from 'node:child_process';
import { Session } from 'node:inspector';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { databaseUrlOn } from './fresh-database';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    database: { type: 'string', default: 'card_ledger_scale' },
    forms: { type: 'string' },
  },
});
const PAGE = `SELECT * FROM account_history_page($1, false, 0, ${Number.MAX_SAFE_INTEGER}, '-infinity', 'infinity', 51)`;

type Node = { selfSize: number; children: Node[] };
const bytes = (n: Node): number => n.selfSize + n.children.reduce((s, c) => s + bytes(c), 0);

async function measure(forms: string[]): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrlOn(process.env.DATABASE_URL ?? '', args.database), max: 10 });
  const ids = (await pool.query<{ id: string }>(`SELECT id FROM accounts WHERE code LIKE 'card:%' LIMIT 2000`)).rows.map((r) => r.id);
  const read: Record<string, (id: string) => Promise<unknown[]>> = {
    promise: async (id) => {
      const client = await pool.connect();
      try {
        return (await client.query(PAGE, [id])).rows;
      } finally {
        client.release();
      }
    },
    callback: (id) => new Promise((ok, no) => pool.query(PAGE, [id], (e: Error | undefined, r) => (e ? no(e) : ok(r.rows)))),
  };
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((ok, no) => session.post(method, params, (e, r) => (e ? no(e) : ok(r as T))));
  await post('HeapProfiler.enable');
  for (const form of forms) {
    for (let i = 0; i < 1000; i++) await read[form](ids[i % ids.length]); // warm: V8's code, the pool's connections
    await post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    const until = performance.now() + Number(args.seconds) * 1000;
    let pages = 0;
    while (performance.now() < until) await read[form](ids[(pages++ * 37) % ids.length]);
    const { profile } = await post<{ profile: { head: Node } }>('HeapProfiler.stopSampling');
    console.log(`  ${form}: ${pages} pages, ${(bytes(profile.head) / pages / 1024).toFixed(1)} kB per page past the young generation`);
  }
  session.disconnect();
  await pool.end();
}

if (args.forms) {
  void measure(args.forms.split(',')).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  for (const forms of ['promise', 'callback', 'promise,callback']) {
    console.log(`process reading ${forms}:`);
    const run = spawnSync(process.execPath, [__filename, ...process.argv.slice(2), '--forms', forms], { stdio: 'inherit' });
    if (run.status !== 0) process.exit(1);
  }
}
