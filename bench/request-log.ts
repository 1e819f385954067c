/**
 * What the request log costs per request, apart from everything else (bench/RESULTS.md "Issue 17, fifth step"):
 * a child logger made per request with nothing written (the bench's `warn` level), and a child with one request
 * line written (`info`). `node dist/bench/request-log.js [<other build>/dist/src/logging/logging.js]` runs this
 * build's logger and, when given, another build's, alternating, three rounds.
 */
import { Writable } from 'node:stream';
import * as path from 'node:path';
import * as thisBuild from '../src/logging/logging';

type LoggingModule = typeof thisBuild;

const CHILDREN = 200_000;
const LINES = 20_000;

function perCall(n: number, work: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) work(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

function measure(m: LoggingModule): { quietUs: number; writtenUs: number } {
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const quiet = m.createRootLogger({ level: 'warn', stream: sink });
  const loud = m.createRootLogger({ level: 'info', stream: sink });
  const line = { req: { method: 'POST', url: '/v1/card-loads', headers: { authorization: 'x' } }, res: { statusCode: 201 } };
  return {
    quietUs: perCall(CHILDREN, (i) => quiet.child({ requestId: `req-${i}` }).info('suppressed')),
    writtenUs: perCall(LINES, (i) => loud.child({ requestId: `req-${i}` }).info({ ...line, responseTime: 3 }, 'request completed')),
  };
}

async function main(): Promise<void> {
  const builds: Array<[string, LoggingModule]> = [['this build', thisBuild]];
  if (process.argv[2]) builds.unshift(['other build', (await import(path.resolve(process.argv[2]))) as LoggingModule]);
  for (let round = 1; round <= 3; round++) {
    for (const [name, m] of builds) {
      const { quietUs, writtenUs } = measure(m);
      console.log(`round ${round} ${name}: child, nothing written ${quietUs.toFixed(1)} µs; child and one line ${writtenUs.toFixed(1)} µs`);
    }
  }
}

void main();
