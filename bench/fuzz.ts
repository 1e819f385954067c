/**
 * `npm run fuzz [-- --seconds 100 --seed N --concurrency 4]`: a hostile but authenticated caller, time-boxed.
 * Requests are generated from GET /docs-json for every operation (bench/fuzz-arbitraries.ts): path, query,
 * header and body values the document allows or pooled from real objects, with bodies broken in places, and a
 * share of protocol abuse (wrong methods, other content types and encodings, truncated and malformed bodies,
 * huge headers, a 1 MB body of 80,000 keys), sent with the admin key, each least-privilege key, no key and a
 * made-up one. Asserts: no 5xx, every answer as the document says (bench/openapi-check.ts), the hash chain
 * verifies and the trial balance balances afterwards, every ledger invariant holds, the service's peak RSS
 * stays under a bound. The same seed generates the same requests; the seed is printed first and last.
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Client } from 'pg';
import { ledgerViolations } from '../test/support/ledger-checks';
import { DocumentArbitraries, hostileString, hostileValue, serialise, urlText } from './fuzz-arbitraries';
import { answerChecker, OpenApiDocument } from './openapi-check';
import { rawRequest } from './raw-http';
import { benchDatabase, sleep, spawnService } from './service-process';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '100' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
  },
});
const SEED = Number(args.seed ?? process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ADMIN = 'fuzz-admin-key-0123456789abcdef';
/** The service's peak resident memory may not pass this (bench/RESULTS.md: about 260 MB after a bench's intake). */
const MAX_RSS_MB = 768;
const PROTOCOL = [
  'wrongMethod',
  'textPlain',
  'latin1',
  'semicolons',
  'noContentType',
  'gzip',
  'br',
  'truncatedJson',
  'hugeHeader',
  'bigBody',
  'rawTruncated',
  'rawBadChunk',
] as const;
type Protocol = (typeof PROTOCOL)[number] | 'none';
type Who = 'admin' | 'loads:write' | 'ledger:read' | 'ops:write' | 'none' | 'made-up';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- OpenAPI operation objects, read defensively
type Operation = { method: string; template: string; methods: string[]; op: any };
type Generated = {
  operation: Operation;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  protocol: Protocol;
  who: Who;
};
type Problem = { index: number; request: string; problem: string };

async function main(): Promise<void> {
  process.stdout.write(`fuzz: seed=${SEED} (replay: FUZZ_SEED=${SEED} npm run fuzz -- --seconds ${args.seconds})\n`);
  const started = performance.now();
  const db = await benchDatabase('card_ledger_fuzz');
  const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(Math.random() < 0.2 ? 500 : 204).end()));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const service = await spawnService({
    DATABASE_URL: db.url,
    DATA_DIR: db.dataDir,
    ADMIN_API_KEY: ADMIN,
    RATE_LIMIT_PER_MINUTE: '100000000',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_BACKOFF_BASE_MS: '50',
    SYNC_POLL_MS: '50',
  });
  try {
    const doc = (await (await fetch(`${service.url}/docs-json`)).json()) as OpenApiDocument;
    const check = answerChecker(doc);
    const keys = await fixtureKeys(service.url);
    const pools = await fixtures(service.url, hookUrl);
    const operations = operationsOf(doc);
    const requestOf = requestArbitrary(doc, operations, pools);
    const problems: Problem[] = [];
    const statuses = new Map<number, number>();
    const covered = new Set<string>();
    let peakRssMb = 0;
    const sampleRss = () => {
      try {
        peakRssMb = Math.max(peakRssMb, service.rssMb().peak);
      } catch {
        /* the process is gone: the requests say so */
      }
    };
    const memory = setInterval(sampleRss, 500);
    const deadline = performance.now() + Number(args.seconds) * 1000;
    const fuzzStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: Number(args.concurrency) }, async () => {
        while (performance.now() < deadline && problems.length < 50) {
          const index = next++;
          const g = fc.sample(requestOf, { seed: SEED + index, numRuns: 1 })[0];
          const answer = await send(service.url, g, keys).catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));
          const request = `#${index} ${g.who} ${g.method} ${g.url.slice(0, 200)} [${g.protocol}] ${String(g.body ?? '').slice(0, 300)}`;
          if ('error' in answer) {
            problems.push({ index, request, problem: `no answer: ${answer.error}` });
            continue;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          covered.add(`${g.operation.method} ${g.operation.template}`);
          const problem = answer.status >= 500 ? `${answer.status}: ${answer.text.slice(0, 300)}` : check({ ...answer, url: g.url });
          if (problem) problems.push({ index, request, problem });
        }
      }),
    );
    clearInterval(memory);
    const requests = next;
    const fuzzSeconds = (performance.now() - fuzzStart) / 1000;
    sampleRss();

    // Afterwards: the ledger is whole whatever was thrown at it.
    const get = async (path: string) => (await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
    const verify = (await get('/v1/audit/verify')) as { ok: boolean };
    if (!verify.ok) problems.push({ index: -1, request: 'GET /v1/audit/verify', problem: JSON.stringify(verify) });
    const tb = (await get('/v1/reports/trial-balance?limit=1')) as { balanced: boolean };
    if (!tb.balanced) problems.push({ index: -1, request: 'GET /v1/reports/trial-balance', problem: JSON.stringify(tb).slice(0, 500) });
    const c = new Client({ connectionString: db.url });
    await c.connect();
    for (const [name, rows] of Object.entries(await ledgerViolations(c))) {
      if (rows.length) {
        problems.push({ index: -1, request: 'ledger invariants', problem: `${name}: ${JSON.stringify(rows).slice(0, 300)}` });
      }
    }
    await c.end();
    if (peakRssMb > MAX_RSS_MB) {
      problems.push({ index: -1, request: 'service memory', problem: `peak RSS ${peakRssMb} MB > ${MAX_RSS_MB} MB` });
    }
    const missing = operations.filter((o) => !covered.has(`${o.method} ${o.template}`)).map((o) => `${o.method} ${o.template}`);
    if (missing.length && problems.length === 0) {
      problems.push({ index: -1, request: 'coverage', problem: `never answered: ${missing.join(', ')}` });
    }

    // Server errors and silences first: they are the bugs; a mismatch with the document may be the document's.
    const rank = (p: Problem) => (/^(no answer|5\d\d)/.test(p.problem) ? 0 : 1);
    problems.sort((a, b) => rank(a) - rank(b));
    for (const p of problems.slice(0, 10)) process.stdout.write(`fuzz: problem ${p.request}\n      → ${p.problem}\n`);
    const byStatus = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    process.stdout.write(
      `fuzz: ${requests} requests in ${fuzzSeconds.toFixed(1)} s (${(requests / fuzzSeconds).toFixed(0)}/s), ` +
        `${covered.size}/${operations.length} operations; statuses ${byStatus}\n`,
    );
    process.stdout.write(
      `fuzz: ${problems.length ? 'FAIL' : 'PASS'} seed=${SEED} requests=${requests} seconds=${fuzzSeconds.toFixed(1)} ` +
        `total=${((performance.now() - started) / 1000).toFixed(1)}s peakRssMb=${peakRssMb}` +
        `${problems.length ? ` problems=${problems.length}` : ''}\n`,
    );
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    await service.stop();
    receiver.closeAllConnections();
    receiver.close();
    await db.close();
  }
}

/** Every operation of the document, with the methods its path takes. */
function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      methods: Object.keys(item).map((m) => m.toUpperCase()),
      op,
    })),
  );
}

/** A key per least-privilege scope; the admin key is the bootstrap one. */
async function fixtureKeys(base: string): Promise<Record<Who, string | null>> {
  const keys: Record<Who, string | null> = {
    admin: ADMIN,
    'loads:write': null,
    'ledger:read': null,
    'ops:write': null,
    none: null,
    'made-up': 'ckl_made_up_0123456789',
  };
  for (const scope of ['loads:write', 'ledger:read', 'ops:write'] as const) {
    keys[scope] = (await admin(base, 'POST', '/v1/api-keys', { name: `fuzz ${scope}`, scopes: [scope] })).key;
  }
  return keys;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixture answers, shapes known from the document
async function admin(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
  });
  if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Real objects to point requests at, by the name of the field or parameter that would hold them. */
async function fixtures(base: string, hookUrl: string): Promise<Record<string, unknown[]>> {
  const cards = ['EKCFUZZ001', 'EKCFUZZ002', 'EKCFUZZ003'];
  const loads: string[] = [];
  for (let i = 0; i < 6; i++) {
    const body = { enKashCardId: cards[i % 3], amount: `${i + 1}.00` };
    loads.push((await admin(base, 'POST', '/v1/card-loads', body, { 'idempotency-key': `fuzz-fixture-${i}` })).id);
  }
  await admin(base, 'POST', '/v1/accounts', { code: 'external:fuzz', currency: 'INR', normalSide: 'debit' });
  await admin(base, 'POST', '/v1/accounts', { code: 'liability:fuzz', currency: 'INR', normalSide: 'credit' });
  const pair = [
    { accountCode: 'external:fuzz', direction: 'debit', amount: '100.00' },
    { accountCode: 'liability:fuzz', direction: 'credit', amount: '100.00' },
  ];
  const journal = [(await admin(base, 'POST', '/v1/journal', { description: 'fuzz fixture', entries: pair })).id];
  const webhooks = [(await admin(base, 'POST', '/v1/webhooks', { url: hookUrl, events: ['card_load.posted', 'card_load.reversed'] })).id];
  const victims = [];
  for (let i = 0; i < 3; i++) {
    victims.push((await admin(base, 'POST', '/v1/api-keys', { name: `fuzz victim ${i}`, scopes: ['ledger:read'] })).id);
  }
  const runs = [(await admin(base, 'POST', '/v1/reports/reconciliation/runs')).id];
  await sleep(1500); // the loads settle, their events go out
  const deliveries = (await admin(base, 'GET', `/v1/webhooks/${webhooks[0]}/deliveries`)).data.map((d: { id: string }) => d.id);
  const cursors: unknown[] = [];
  const lists = [
    '/v1/card-loads',
    '/v1/accounts',
    '/v1/journal',
    `/v1/cards/${cards[0]}/history`,
    '/v1/accounts/external:fuzz/entries',
    '/v1/reports/trial-balance',
    `/v1/webhooks/${webhooks[0]}/deliveries`,
    '/v1/reports/reconciliation',
  ];
  for (const list of lists) {
    const cursor = (await admin(base, 'GET', `${list}${list.includes('?') ? '&' : '?'}limit=1`)).nextCursor;
    if (cursor) cursors.push(cursor);
  }
  const codes = ['external:fuzz', 'liability:fuzz', 'parent:CABFIPS', `card:${cards[0]}`];
  return {
    loadId: loads,
    webhookId: webhooks,
    journalId: journal,
    keyId: victims,
    deliveryId: deliveries,
    runId: runs,
    cursor: cursors,
    code: codes,
    accountCode: codes,
    enKashCardId: cards,
    url: [hookUrl],
    idempotencyKey: ['fuzz-k1', 'fuzz-k2'],
    'Idempotency-Key': ['fuzz-k1', 'fuzz-k2'],
    cardAccountId: ['CABFIPS'],
    companyId: ['CEKEP5GSGP'],
    amount: ['1.00', '2.50', 3, 4.5],
  };
}

/** Which pool a path parameter draws from: `id` means the resource of its path. */
function poolName(template: string, name: string): string {
  if (name !== 'id') return name;
  const byPrefix = [
    ['/v1/card-loads', 'loadId'],
    ['/v1/webhooks', 'webhookId'],
    ['/v1/journal', 'journalId'],
    ['/v1/api-keys', 'keyId'],
  ];
  for (const [prefix, pool] of byPrefix) {
    if (template.startsWith(prefix)) return pool;
  }
  return name;
}

/** One arbitrary for a whole request: an operation, then its parameters and body, who sends it, and any protocol abuse. */
function requestArbitrary(doc: OpenApiDocument, operations: Operation[], pools: Record<string, unknown[]>): fc.Arbitrary<Generated> {
  const arbs = new DocumentArbitraries(doc, (name) => pools[name] ?? []);
  const who = fc.constantFrom<Who>('admin', 'admin', 'admin', 'loads:write', 'ledger:read', 'ops:write', 'none', 'made-up');
  const protocol = fc.oneof(
    { weight: 85, arbitrary: fc.constant<Protocol>('none') },
    { weight: 15, arbitrary: fc.constantFrom<Protocol>(...PROTOCOL) },
  );
  // Header values fetch can send: printable ASCII only.
  const headerText = (a: fc.Arbitrary<string>) =>
    a.map((v) => {
      let text = v;
      try {
        text = decodeURIComponent(v);
      } catch {
        /* not valid percent-encoding: send it as it is */
      }
      return text.replace(/[^\x20-\x7e]/g, '?');
    });
  const perOperation = operations.map((operation) => {
    type Parameter = { name: string; in: string; required?: boolean; schema?: Record<string, unknown> };
    const params = (operation.op.parameters ?? []) as Parameter[];
    const byPlace = (place: string) => params.filter((p) => p.in === place);
    const record = (list: typeof params, value: (p: (typeof params)[number]) => fc.Arbitrary<string>) =>
      fc.record(Object.fromEntries(list.map((p) => [p.name, value(p)])), {
        requiredKeys: list.filter((p) => p.in === 'path').map((p) => p.name),
      });
    const bodySchema = operation.op.requestBody?.content?.['application/json']?.schema;
    const body = bodySchema
      ? arbs.body(bodySchema)
      : fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: hostileValue });
    return fc
      .record({
        path: record(byPlace('path'), (p) => arbs.param(p.schema, poolName(operation.template, p.name))),
        query: record(byPlace('query'), (p) => arbs.param(p.schema, p.name)),
        headers: record(byPlace('header'), (p) => headerText(fc.oneof(arbs.param(p.schema, p.name), hostileString.map(urlText)))),
        body,
        who,
        protocol,
        otherMethod: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      })
      .map(({ path, query, headers, body: value, who: sender, protocol: abuse, otherMethod }): Generated => {
        const url =
          operation.template.replace(/\{(\w+)\}/g, (_, name: string) => (path as Record<string, string>)[name]) +
          (Object.keys(query).length
            ? `?${Object.entries(query)
                .map(([k, v]) => `${k}=${v}`)
                .join('&')}`
            : '');
        const wrong = abuse === 'wrongMethod' && !operation.methods.includes(otherMethod);
        return {
          operation,
          method: wrong ? otherMethod : operation.method,
          url,
          headers: headers,
          body: value === undefined ? undefined : serialise(value),
          who: sender,
          protocol: abuse === 'wrongMethod' && !wrong ? 'none' : abuse,
        };
      });
  });
  return fc.integer({ min: 0, max: perOperation.length - 1 }).chain((i) => perOperation[i]);
}

const BIG_BODY = JSON.stringify({
  enKashCardId: 'EKCMB7KAEW',
  amount: '10.00',
  metadata: Object.fromEntries(Array.from({ length: 80_000 }, (_, i) => [`k${i}`, 'v'])),
});

/** The protocol abuses that only change headers: each header's value, or null to leave it out. */
const HEADER_ABUSE: Partial<Record<Protocol, Record<string, string | null>>> = {
  textPlain: { 'content-type': 'text/plain' },
  latin1: { 'content-type': 'application/json; charset=latin1' },
  semicolons: { 'content-type': 'application/json;;;' },
  noContentType: { 'content-type': null },
  br: { 'content-encoding': 'br' },
  hugeHeader: { 'x-fuzz-padding': 'a'.repeat(20_000) },
};

/** Sends one generated request, with its protocol abuse applied; answers what came back. */
async function send(
  base: string,
  g: Generated,
  keys: Record<Who, string | null>,
): Promise<{ method: string; status: number; contentType: string | null; text: string }> {
  const headers: Record<string, string> = { ...g.headers };
  const key = keys[g.who];
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | Buffer | undefined = g.body;
  if (body !== undefined) headers['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(HEADER_ABUSE[g.protocol] ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  switch (g.protocol) {
    case 'gzip':
      if (body !== undefined) {
        body = gzipSync(body);
        headers['content-encoding'] = 'gzip';
      }
      break;
    case 'truncatedJson':
      if (typeof body === 'string') body = body.slice(0, Math.floor(body.length / 2));
      break;
    case 'bigBody':
      if (g.method !== 'GET') {
        body = BIG_BODY;
        headers['content-type'] = 'application/json';
      }
      break;
    case 'rawTruncated':
    case 'rawBadChunk': {
      const method = g.method === 'GET' ? 'POST' : g.method;
      const lines = [
        `${method} ${g.url} HTTP/1.1`,
        'Host: fuzz',
        'Content-Type: application/json',
        ...Object.entries(headers)
          .filter(([k]) => k !== 'content-type')
          .map(([k, v]) => `${k}: ${v}`),
      ];
      const text = String(g.body ?? '{"a":1}');
      const raw =
        g.protocol === 'rawTruncated'
          ? `${[...lines, `Content-Length: ${Buffer.byteLength(text) + 50}`].join('\r\n')}\r\n\r\n${text}`
          : `${[...lines, 'Transfer-Encoding: chunked'].join('\r\n')}\r\n\r\nzz\r\n${text}\r\n0\r\n\r\n`;
      const res = await rawRequest(base, raw);
      return { method, status: res.status, contentType: /content-type: ([^\r\n]+)/i.exec(res.headers)?.[1] ?? null, text: res.body };
    }
  }
  const method = g.method;
  const res = await fetch(`${base}${g.url}`, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    signal: AbortSignal.timeout(30_000),
  });
  return { method, status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

main().catch((e: unknown) => {
  process.stdout.write(`fuzz: FAIL seed=${SEED} error=${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
