import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../src/database/embedded-postgres';
import { UNREACHABLE_ENKASH_ENV } from '../src/enkash-simulator/simulator';

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
export const benchHeaders = { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' };

/**
 * A built service (`main`, a dist/src/main.js) as ROLE=api on `db`, quiet, unthrottled, with an EnKash that is never
 * called (no worker): the benches measure the ledger, not the sync. Resolves once it listens. Unless `env` names one,
 * it gets a DATA_DIR of its own (audit key, signed head), never the working directory's .data, which tests read.
 */
export async function startBenchService(
  main: string,
  db: string,
  env: Record<string, string> = {},
): Promise<{ base: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      DATABASE_URL: db,
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'card-ledger-bench-data-')),
      ROLE: 'api',
      PORT: String(port),
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '100000000',
      ...UNREACHABLE_ENKASH_ENV,
      // No scheduled verification in the middle of a measurement (the audit bench runs it on purpose).
      AUDIT_VERIFY_INTERVAL_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  while (!/listening on/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`service ${main} exited: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base: `http://127.0.0.1:${port}`, proc };
}

/** What a bench may change in fillThroughBatches. */
export interface BatchFillOptions {
  /** The amount of load `i`; by default whole rupees, 1.00 to 900.00 in turn. */
  amount?: (i: number) => string;
  /** Requests in flight at once; 4 by default. */
  inFlight?: number;
  /** The requests' headers (the admin key among them); benchHeaders by default. */
  headers?: Record<string, string>;
}

/** Fills through the bulk endpoint: 1,000 loads a request, 4 requests in flight. Returns loads per second. */
export async function fillThroughBatches(
  base: string,
  loads: number,
  card: (i: number) => string,
  keyPrefix: string,
  { amount = (i) => `${1 + (i % 900)}.00`, inFlight = 4, headers = benchHeaders }: BatchFillOptions = {},
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const filler = async () => {
    while (next < loads) {
      const from = next;
      next += 1000;
      const batch = Array.from({ length: Math.min(1000, loads - from) }, (_, j) => ({
        idempotencyKey: `${keyPrefix}-${from + j}`,
        enKashCardId: card(from + j),
        amount: amount(from + j),
      }));
      const res = await fetch(`${base}/v1/card-loads/batch`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ loads: batch }),
      });
      if (res.status !== 200) throw new Error(`batch failed: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, filler));
  return loads / ((performance.now() - started) / 1000);
}

/**
 * Single `POST /v1/card-loads` from `connections` closed-loop clients for `seconds`, or until exactly `requests` were
 * answered when that is given: load `n` (from 1) goes to `card(n)` with idempotency key `<tag>-<n>`. Rate, p99,
 * failures and 2xx count as autocannon gives them.
 */
export async function singleLoads(
  base: string,
  {
    connections,
    seconds = 10,
    requests,
    tag,
    card,
    amount,
  }: { connections: number; seconds?: number; requests?: number; tag: string; card: (n: number) => string; amount: string },
) {
  let n = 0;
  const result = await autocannon({
    url: `${base}/v1/card-loads`,
    connections,
    duration: seconds,
    // autocannon ignores the duration when a count is given.
    amount: requests,
    method: 'POST',
    headers: benchHeaders,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          n++;
          return {
            ...req,
            headers: { ...req.headers, 'idempotency-key': `${tag}-${n}` },
            body: JSON.stringify({ enKashCardId: card(n), amount }),
          };
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    loads: result['2xx'],
  };
}
