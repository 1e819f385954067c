// @ts-nocheck -- checked by generated-client.spec.ts alone, against the types generated from the live document (the
// spec removes this line for that compile). The project's own `tsc` cannot resolve 'card-ledger-openapi', so to it
// every call here would be `any`: that compile could prove nothing about the document.
/**
 * A billing system's integration (README "Integrating a billing system"), written only against the types that
 * openapi-typescript generates from GET /docs-json. generated-client.spec.ts type-checks this file against those
 * types (zero diagnostics allowed) and then runs it against the real app through openapi-fetch.
 */
import type { Client } from 'openapi-fetch';
import type { paths } from 'card-ledger-openapi';

/** JSON only: the CSV alternatives of the list routes are another media type, not another shape of `data`. */
export type LedgerClient = Client<paths, 'application/json'>;

/** Unwraps a success, or fails with the status and the (typed) error body. */
function ok<T>(r: { data?: T; error?: unknown; response: Response }, what: string, status: number): T {
  if (r.response.status !== status || r.data === undefined) {
    throw new Error(`${what}: expected ${status}, got ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  return r.data;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`failed: ${what}`);
}

export async function billingIntegration(connect: (apiKey: string) => LedgerClient, adminKey: string, webhookUrl: string) {
  // 1. A key with the least scopes for this integration, made with the admin key.
  const admin = connect(adminKey);
  const key = ok(
    await admin.POST('/v1/api-keys', { body: { name: 'billing-prod', scopes: ['loads:write', 'ledger:read', 'ops:write'] } }),
    'create key',
    201,
  );
  check(key.key.startsWith('ckl_') && key.revokedAt === null, 'the new key is shown once, unrevoked');
  const api = connect(key.key);

  // 2. A load, retried with the same Idempotency-Key: the same load back.
  const load = { enKashCardId: 'EKCMB7KAEW', amount: '1500.00', description: 'March meal allowance', metadata: { invoiceId: 'INV-9' } };
  const idem = { header: { 'Idempotency-Key': 'INV-9-line-1' } };
  const created = ok(await api.POST('/v1/card-loads', { params: idem, body: load }), 'create load', 201);
  check(created.amount === '1500.00' && created.metadata.invoiceId === 'INV-9' && created.postedAt === null, 'the load as sent');
  const replay = await api.POST('/v1/card-loads', { params: idem, body: load });
  check(ok(replay, 'replay', 200).id === created.id && replay.response.headers.get('Idempotent-Replayed') === 'true', 'the replay');

  const read = ok(await api.GET('/v1/card-loads/{id}', { params: { path: { id: created.id } } }), 'read load', 200);
  check(read.reference === created.reference && read.events.every((e) => typeof e.type === 'string'), 'the load with its events');
  const page = ok(
    await api.GET('/v1/card-loads', { params: { query: { enKashCardId: created.enKashCardId, limit: 10 } } }),
    'list loads',
    200,
  );
  check(page.data.some((l) => l.id === created.id) && page.nextCursor === null, 'the load listed');

  // 3. A payroll run: one good item, one bad; the bad one does not block the good one.
  const batch = ok(
    await api.POST('/v1/card-loads/batch', {
      body: {
        loads: [
          { idempotencyKey: 'INV-10', enKashCardId: 'EKCMB7KAEX', amount: 250.5 },
          { idempotencyKey: 'INV-11', enKashCardId: 'EKCMB7KAEX', amount: '1.001' },
        ],
      },
    }),
    'batch',
    200,
  );
  check(batch.results[0].status === 201 && batch.results[0].load?.amount === '250.50', 'batch item 0 created');
  check(batch.results[1].status === 400 && batch.results[1].error?.code === 'validation_failed', 'batch item 1 refused');

  // 4. The card, as the ledger sees it.
  const card = { path: { enKashCardId: created.enKashCardId } };
  const balance = ok(await api.GET('/v1/cards/{enKashCardId}/balance', { params: card }), 'balance', 200);
  check(/^\d+\.\d{2}$/.test(balance.posted) && /^\d+\.\d{2}$/.test(balance.pending), 'balances are amounts');
  const history = ok(await api.GET('/v1/cards/{enKashCardId}/history', { params: { ...card, query: { limit: 50 } } }), 'history', 200);
  check(
    history.data.some((row) => row.loadId === created.id && row.event === 'load_pending'),
    'the intake in the history',
  );

  // 5. Hear settlements.
  const hook = ok(
    await api.POST('/v1/webhooks', {
      body: { url: webhookUrl, events: ['card_load.posted', 'card_load.reversed', 'card_load.needs_review'] },
    }),
    'subscribe',
    201,
  );
  check(hook.secret.startsWith('whsec_') && hook.allLoads === false, 'the signing secret, once');

  // 6. Reconcile: a run now, then the report of it; and the trial balance.
  const run = ok(await api.POST('/v1/reports/reconciliation/runs'), 'reconciliation run', 201);
  check(run.status !== 'running' && run.findings.length === run.findingsCount, 'a finished run with its findings');
  const report = ok(await api.GET('/v1/reports/reconciliation', { params: { query: { runId: run.id } } }), 'reconciliation report', 200);
  check(report.lastRun?.id === run.id && report.loads.every((g) => g.count >= 0) && report.ageBuckets.length === 2, 'the report');
  check(
    report.data.every((f) => f.runId === run.id),
    'the findings of that run',
  );
  const tb = ok(await api.GET('/v1/reports/trial-balance', { params: { query: { limit: 500 } } }), 'trial balance', 200);
  check(tb.balanced && tb.totals.every((t) => t.balanced), 'debits equal credits');

  // 7. The errors a client must handle, typed as the document says.
  const bad = await api.POST('/v1/card-loads', {
    params: { header: { 'Idempotency-Key': 'INV-bad' } },
    body: { enKashCardId: 'EKCMB7KAEW', amount: 'abc' },
  });
  check(bad.response.status === 400 && bad.error?.error.code === 'validation_failed', 'a bad amount is a 400');
  check(bad.error?.error.details?.some((d) => d.field === 'amount') === true, 'the 400 names the field');
  const missing = await api.GET('/v1/card-loads/{id}', { params: { path: { id: '0b6f8a5e-4c1e-4a52-9a7e-3f1c2d4e5f60' } } });
  check(missing.response.status === 404 && missing.error?.error.code === 'not_found', 'an unknown load is a 404');

  return { loadId: created.id, runId: run.id, webhookId: hook.id };
}
