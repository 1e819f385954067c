import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// openapi-fetch ships a CommonJS build jest can require; openapi-typescript is run in a child process (generate-types.mjs).
import createClient, { Middleware } from 'openapi-fetch';
import ts from 'typescript';
import { answerChecker, OpenApiDocument } from '../../bench/openapi-check';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { ADMIN_KEY, startTestApp, TestApp } from '../support/app';
import { enkashEnv, FAST_SYNC_ENV, startSim } from '../sync/sync-harness';
import { startReceiver, Receiver } from '../webhooks/receiver';
import { billingIntegration, LedgerClient } from './client-program';
import { fileTestSettings } from '../support/config';

type Exchange = { method: string; schemaPath: string; url: string; status: number; contentType: string | null; text: string };

const PROGRAM = path.join(__dirname, 'client-program.ts');

// The walkthrough subscribes a receiver on 127.0.0.1, so the SSRF guard is relaxed for this file's apps.
fileTestSettings({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });

/** Type-checks the client program against the generated types, as a billing system's build would. */
function typeCheck(generated: string): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    paths: { 'card-ledger-openapi': [generated] },
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  // The program opts out of the project's own tsc (see its first line); here it is checked in full.
  host.readFile = (file) => (path.resolve(file) === PROGRAM ? readFile(file)?.replace(/^\/\/ @ts-nocheck\b/m, '//') : readFile(file));
  const program = ts.createProgram([PROGRAM], options, host);
  if (program.getSourceFile(PROGRAM)?.text.includes('@ts-nocheck')) throw new Error('the program would not be checked');
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
    const where = `${d.file ? path.basename(d.file.fileName) : ''}${at ? `:${at.line + 1}:${at.character + 1}` : ''}`;
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('a client generated from the OpenAPI document', () => {
  let sim: RunningSimulator;
  let t: TestApp;
  let receiver: Receiver;
  let doc: OpenApiDocument;
  let dir: string;
  beforeAll(async () => {
    // A live EnKash (the simulator over HTTP): without ENKASH_BASE_URL there is no reconciliation runner. The short
    // sync timings also bound the worker's shutdown drain (2 x ENKASH_TIMEOUT_MS + 1 s, a timer it leaves running)
    // to under 2 s; with the default 10 s timeout it would hold jest open for 21 s after the tests.
    [sim, receiver] = await Promise.all([startSim(), startReceiver()]);
    t = await startTestApp({ ...FAST_SYNC_ENV, ...enkashEnv(sim) });
    doc = (await t.api('GET', '/docs-json', { key: null })).body;
    dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-client-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
    await Promise.all([receiver.close(), sim.close()]);
  });

  it('should type-check a billing integration against the generated types, with no diagnostics', async () => {
    const generated = path.join(dir, 'api.ts');
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(doc));
    execFileSync(process.execPath, [path.join(__dirname, 'generate-types.mjs'), path.join(dir, 'openapi.json'), generated]);
    expect(typeCheck(generated)).toEqual([]);
  });

  it('should run that integration through openapi-fetch, every answer declared and matching its schema', async () => {
    const exchanges: Exchange[] = [];
    const recorder: Middleware = {
      async onResponse({ request, response, schemaPath }) {
        exchanges.push({
          method: request.method.toLowerCase(),
          schemaPath,
          url: new URL(request.url).pathname,
          status: response.status,
          contentType: response.headers.get('content-type'),
          text: await response.clone().text(),
        });
      },
    };
    const connect = (key: string) => {
      const client = createClient({ baseUrl: t.url, headers: { authorization: `Bearer ${key}` } });
      client.use(recorder);
      return client as unknown as LedgerClient; // the generated `paths` exist only in the program's own compile
    };
    await billingIntegration(connect, ADMIN_KEY, `${receiver.url}/hooks/card-ledger`);

    // The same check every answer of the suite gets (test/support/app.ts), here on openapi-fetch's own traffic.
    const check = answerChecker(doc);
    const problems = exchanges.map((x) => check({ ...x, method: x.method.toUpperCase() }));
    expect(problems.filter((p) => p !== null)).toEqual([]);
    // Every route of the walkthrough was exercised, the error answers included.
    expect(new Set(exchanges.map((x) => `${x.method.toUpperCase()} ${x.schemaPath} ${x.status}`))).toEqual(
      new Set([
        'POST /v1/api-keys 201',
        'POST /v1/card-loads 201',
        'POST /v1/card-loads 200',
        'GET /v1/card-loads/{id} 200',
        'GET /v1/card-loads 200',
        'POST /v1/card-loads/batch 200',
        'GET /v1/cards/{enKashCardId}/balance 200',
        'GET /v1/cards/{enKashCardId}/history 200',
        'POST /v1/webhooks 201',
        'POST /v1/reports/reconciliation/runs 201',
        'GET /v1/reports/reconciliation 200',
        'GET /v1/reports/trial-balance 200',
        'POST /v1/card-loads 400',
        'GET /v1/card-loads/{id} 404',
      ]),
    );
  });
});
