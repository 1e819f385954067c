/**
 * `node dist/bench/enkash-client-cpu.js [--requests N] [--rounds R]`: the client CPU of one EnKash-sized POST, sent
 * the way the transport sent it through axios before issue 17's thirteenth step, and through `EnKashTransport.post`
 * now (Node's own http.request). The server runs in a child process, so this process's CPU is the client's alone;
 * 32 requests in flight, as the sync worker's default concurrency. Rounds alternate the two clients.
 */
import axios from 'axios';
import { fork } from 'node:child_process';
import { Agent, createServer, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { EnKashTransport } from '../src/enkash/enkash.transport';

const IN_FLIGHT = 32;
const ANSWER = JSON.stringify({ status: 'SUCCESS', message: 'Balance loaded', payload: { transactionId: 'T'.repeat(24) } });

function serve(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.setHeader('content-type', 'application/json').end(ANSWER));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '6000' }, rounds: { type: 'string', default: '3' } } });
  const requests = Number(values.requests);
  const child = fork(__filename, ['--serve']);
  const port = await new Promise<number>((r) => child.once('message', (m) => r(Number(m))));
  const url = `http://127.0.0.1:${port}/api/v0/partner/enKashCard/balance`;
  const body = JSON.stringify({
    enKashCardId: 'EKCS000001',
    amount: 10,
    transactionType: 'CR',
    uniqueReferenceNumber: 'CL'.padEnd(26, 'X'),
  });
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${'t'.repeat(64)}` };
  // The request options of the transport before this step (enkashHttpOptions and the per-request config).
  const viaAxios = axios.create({ timeout: 5000, maxRedirects: 0, httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) });
  const axiosPost = async () => {
    await viaAxios.request<string>({
      method: 'POST',
      url,
      data: body,
      headers,
      timeout: 5000,
      signal: AbortSignal.any([new AbortController().signal, AbortSignal.timeout(5000)]),
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: 5 * 1024 * 1024,
      transport: { request: (o: RequestOptions, cb: (res: IncomingMessage) => void) => httpRequest(o, cb) },
    });
  };
  const transport = new EnKashTransport(5000);
  const transportPost = async () => {
    const wire = await transport.post(url, body, headers);
    if (wire.kind !== 'response') throw new Error(`request failed: ${JSON.stringify(wire)}`);
  };
  console.log('| round | client | client CPU per request | wall per request |\n|---|---|---|---|');
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, post] of [
      ['axios (before)', axiosPost],
      ['EnKashTransport (Node http)', transportPost],
    ] as const) {
      let started = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (started < requests) {
            started++;
            await post();
          }
        }),
      );
      const cpu = process.cpuUsage(cpu0);
      const us = (x: number) => `${x.toFixed(0)} µs`;
      console.log(
        `| ${round} | ${name} | ${us((cpu.user + cpu.system) / requests)} | ${us(((performance.now() - t0) * 1000) / requests)} |`,
      );
    }
  }
  transport.close();
  child.kill();
}

if (process.argv.includes('--serve')) serve();
else
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
