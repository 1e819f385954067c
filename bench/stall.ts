/**
 * `npm run bench:stall [-- --parallel 3 --keys 80000]`: how long one authenticated caller can hold the event loop.
 * The service runs in its own process (as in production); this process sends `--parallel` bodies of about 1 MB at
 * once (a card load whose `metadata` has `--keys` keys, then 50,000 unknown top-level keys on two routes) while it
 * asks GET /health/live every 20 ms, and prints the slowest health answer, the time to the last reply and the size
 * of the largest error body. Results go in bench/RESULTS.md by hand, with the command.
 */
import { parseArgs } from 'node:util';
import { benchDatabase, sleep, spawnService } from './service-process';

const ADMIN = 'stall-admin-key-0123456789abcdef';
const { values: args } = parseArgs({ options: { parallel: { type: 'string', default: '3' }, keys: { type: 'string', default: '80000' } } });

/** A JSON object text with `n` keys of about `size` bytes in all. */
function manyKeys(n: number, size: number): string {
  const value = 'v'.repeat(Math.max(1, Math.floor(size / n) - 14));
  return `{${Array.from({ length: n }, (_, i) => `"k${i}":"${value}"`).join(',')}}`;
}

type Outcome = { status: number; ms: number; bytes: number };

async function measure(url: string, label: string, bodies: Array<{ path: string; text: string }>): Promise<string> {
  const started = performance.now();
  let slowestHealthMs = 0;
  let done = false;
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now();
      await fetch(`${url}/health/live`).then((r) => r.text());
      slowestHealthMs = Math.max(slowestHealthMs, performance.now() - t0);
      await sleep(20);
    }
  })();
  const outcomes: Outcome[] = await Promise.all(
    bodies.map(async (b, i) => {
      const res = await fetch(`${url}${b.path}`, {
        method: 'POST',
        body: b.text,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'idempotency-key': `stall-${label}-${i}` },
      });
      const text = await res.text();
      return { status: res.status, ms: performance.now() - started, bytes: Buffer.byteLength(text) };
    }),
  );
  done = true;
  await probe;
  const size = Math.max(...bodies.map((b) => Buffer.byteLength(b.text)));
  return (
    `${label}: ${bodies.length} × ${(size / 1e6).toFixed(2)} MB → statuses ${[...new Set(outcomes.map((o) => o.status))].join(',')}; ` +
    `slowest /health/live ${slowestHealthMs.toFixed(0)} ms; last reply after ${Math.max(...outcomes.map((o) => o.ms)).toFixed(0)} ms; ` +
    `largest reply ${(Math.max(...outcomes.map((o) => o.bytes)) / 1e3).toFixed(1)} kB`
  );
}

async function main(): Promise<void> {
  const db = await benchDatabase('card_ledger_stall');
  const env = { DATABASE_URL: db.url, DATA_DIR: db.dataDir, ADMIN_API_KEY: ADMIN, ROLE: 'api', RATE_LIMIT_PER_MINUTE: '1000000' };
  const s = await spawnService(env).catch(async (e) => {
    await db.close();
    throw e;
  });
  try {
    const parallel = Number(args.parallel);
    const keys = Number(args.keys);
    const load = `{"enKashCardId":"EKCMB7KAEW","amount":"10.00","metadata":${manyKeys(keys, 1_000_000)}}`;
    const unknown = (extra: string) => `{${extra}${manyKeys(50_000, 900_000).slice(1)}`;
    /** `parallel` copies of `text` posted to `path` at once. */
    const measureCopies = (label: string, path: string, text: string) =>
      measure(
        s.url,
        label,
        Array.from({ length: parallel }, () => ({ path, text })),
      );
    const lines = [
      await measureCopies(`card load, metadata of ${keys} keys`, '/v1/card-loads', load),
      await measureCopies('card load, 50,000 unknown keys', '/v1/card-loads', unknown('"enKashCardId":"EKCMB7KAEW","amount":"10.00",')),
      await measureCopies(
        'webhook, 50,000 unknown keys',
        '/v1/webhooks',
        unknown('"url":"https://example.com/h","events":["card_load.posted"],'),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await s.stop();
    await db.close();
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`stall: error ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
