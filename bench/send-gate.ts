/**
 * `npm run build && node dist/bench/send-gate.js [-- --n 20000]`: what the fork check costs the fence before every send
 * (src/database/identity-sql.ts). The server evaluates SEND_GATE_SQL `--n` times in a loop (parsed and planned each
 * time, as the fence's own statement is), against the same loop over a constant in the same run; the difference is
 * the check's cost per send. Results go in bench/RESULTS.md by hand, with the command.
 */
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { SEND_GATE_SQL } from '../src/database/identity-sql';
import { benchDatabase } from './service-process';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const n = Number(args.n);

async function main(): Promise<void> {
  const db = await benchDatabase('send_gate');
  const c = new Client({ connectionString: db.url });
  await c.connect();
  let seconds = 0;
  c.on('notice', (m) => (seconds = Number(m.message)));
  const loop = async (expr: string): Promise<number> => {
    await c.query(`DO $$ DECLARE t0 timestamptz; g text; BEGIN t0 := clock_timestamp();
      FOR i IN 1..${n} LOOP EXECUTE 'SELECT (' || $q$${expr}$q$ || ')::text' INTO g; END LOOP;
      RAISE NOTICE '%', extract(epoch FROM clock_timestamp() - t0); END $$`);
    return (seconds / n) * 1e6;
  };
  const runs: Record<string, number[]> = { constant: [], gate: [] };
  for (let round = 0; round < 3; round++) {
    runs.constant.push(await loop(`'open'`));
    runs.gate.push(await loop(SEND_GATE_SQL));
  }
  const best = (xs: number[]) => Math.min(...xs).toFixed(1);
  process.stdout.write(
    `send gate: ${best(runs.gate)} µs per evaluation, constant ${best(runs.constant)} µs (best of 3 × ${n}); ` +
      `the check costs about ${(Math.min(...runs.gate) - Math.min(...runs.constant)).toFixed(1)} µs of database time per send\n`,
  );
  await c.end();
  await db.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
