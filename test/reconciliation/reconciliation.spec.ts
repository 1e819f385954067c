import { formatMinor } from '../../src/common/money';
import { SIMULATOR_DEFAULTS } from '../../src/config/app-config';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { RECONCILIATION_LOCK_KEY } from '../../src/reconciliation/reconciliation.service';
import { TestApp, useTestApp } from '../support/app';
import { sql } from '../support/db';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { createLoad, startSim, startSyncApp, useSyncApp, waitFor, waitForStatus } from '../sync/sync-harness';
import { postTransfer } from '../support/journal';
import { FINDING_KINDS } from '../../src/reconciliation/reconciliation.compare';
import type { FindingView, RunView } from '../../src/reconciliation/reconciliation.view';
import { expectGetRefused } from '../support/refusals';

/** The API's finding, with its evidence typed loosely so that tests can read it by path. */
type Finding = Omit<FindingView, 'evidence'> & {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: the evidence is read by path
  evidence: Record<string, any>;
};
/** A run as POST /v1/reports/reconciliation/runs answers it: the run and its findings. */
type Run = RunView & { findings: Finding[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Past the simulator's lookup lag (50 ms) and SYNC_LOOKUP_GRACE_MS (150 ms in the sync harness). */
const pastGrace = () => sleep(300);
const PARENT = `parent:${SIMULATOR_DEFAULTS.cardAccountId}`;

describe('reconciliation against EnKash (service + simulator over real HTTP)', () => {
  const ctx = useSyncApp();
  const startedAt = new Date().toISOString();

  beforeAll(async () => {
    // Mirror EnKash's parent funding in the ledger: only then can the parent balances agree.
    for (const body of [
      { code: 'external:funding', currency: 'INR', normalSide: 'debit' },
      { code: PARENT, currency: 'INR', normalSide: 'credit' },
    ])
      expect((await ctx.app.api('POST', '/v1/accounts', { body })).status).toBe(201);
    // One entry at most MAX_JOURNAL_AMOUNT (10,000,000,000.00 by default): the simulator's parent fits one.
    const amount = formatMinor(ctx.sim.state.parentBalanceMinor);
    expect((await postTransfer(ctx.app, 'mirror EnKash parent funding', 'external:funding', PARENT, amount)).status).toBe(201);
  });
  afterEach(async () => {
    ctx.sim.state.clearFaults();
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  const runNow = async (): Promise<Run> => {
    const res = await ctx.app.api('POST', '/v1/reports/reconciliation/runs');
    expect(res.status).toBe(201);
    return res.body;
  };
  const postedLoad = async (card: string, amount: string) => {
    const load = await createLoad(ctx.app, card, amount);
    await waitForStatus(ctx.app, load.id, ['posted']);
    return load;
  };
  const findingsFor = (run: Run, kind: string, match: Partial<Finding>) =>
    run.findings.filter((f) => f.kind === kind && Object.entries(match).every(([k, v]) => f[k as keyof Finding] === v));

  it('should report nothing on a clean run', async () => {
    await postedLoad('EKCRECON01', '100.00');
    await postedLoad('EKCRECON01', '0.50');
    await postedLoad('EKCRECON02', '42.42');
    await pastGrace();
    const tokensBefore = ctx.sim.state.tokenIssuedCount;
    const run = await runNow();
    expect(run).toMatchObject({
      trigger: 'manual',
      status: 'completed',
      checkedLoads: 3,
      checkedCards: 2,
      findingsCount: 0,
      error: null,
      findings: [],
    });
    // The run borrows the worker's EnKash client: no login of its own (refused ones would add up toward EnKash's
    // lock-out). Counted across the run only: on a loaded box the worker's own first login can pass its 400 ms
    // deadline and be made again, which is the worker's affair.
    expect(ctx.sim.state.tokenIssuedCount).toBe(tokensBefore);
    expect(tokensBefore).toBeGreaterThanOrEqual(1);
  });

  it('should find a reference EnKash applied twice, and the card balance it inflated', async () => {
    const load = await postedLoad('EKCRECON03', '25.00');
    ctx.sim.state.plantApplied(load.reference, 'EKCRECON03', 2500n);
    await pastGrace();
    const run = await runNow();
    const [twice] = findingsFor(run, 'enkash_applied_multiple', { loadId: load.id });
    expect(twice).toMatchObject({
      reference: load.reference,
      accountCode: 'card:EKCRECON03',
      ledgerAmount: '25.00',
      enkashAmount: '50.00',
    });
    expect(twice.evidence).toMatchObject({
      ledger: { status: 'posted', amount: '25.00' },
      enkash: { outcome: 'succeeded', recordCount: 2 },
    });
    expect(findingsFor(run, 'card_balance_drift', { accountCode: 'card:EKCRECON03' })[0]).toMatchObject({
      ledgerAmount: '25.00',
      enkashAmount: '50.00',
    });
  });

  it('should find an amount EnKash holds differently from ours', async () => {
    const load = await postedLoad('EKCRECON04', '30.00');
    ctx.sim.state.setRecordStatus(load.reference, 'FAILED');
    ctx.sim.state.plantApplied(load.reference, 'EKCRECON04', 1234n);
    await pastGrace();
    const run = await runNow();
    expect(findingsFor(run, 'amount_mismatch', { loadId: load.id })[0]).toMatchObject({ ledgerAmount: '30.00', enkashAmount: '12.34' });
  });

  it('should find a posted load EnKash has no success record of', async () => {
    const load = await postedLoad('EKCRECON05', '12.00');
    ctx.sim.state.setRecordStatus(load.reference, 'FAILED');
    await pastGrace();
    const run = await runNow();
    const [missing] = findingsFor(run, 'posted_missing_at_enkash', { loadId: load.id });
    expect(missing).toMatchObject({ ledgerAmount: '12.00', enkashAmount: null });
    expect(missing.evidence.enkash.records).toEqual([expect.objectContaining({ status: 'failed', rawStatus: 'FAILED', amount: '12.00' })]);
  });

  it('should find a load we reversed that EnKash applied anyway', async () => {
    const funded = ctx.sim.state.parentBalanceMinor;
    ctx.sim.state.setConfig({ parentBalanceMinor: 100n });
    const load = await createLoad(ctx.app, 'EKCRECON06', '9.00');
    try {
      await waitForStatus(ctx.app, load.id, ['reversed']);
    } finally {
      ctx.sim.state.setConfig({ parentBalanceMinor: funded });
    }
    ctx.sim.state.plantApplied(load.reference, 'EKCRECON06', 900n);
    await pastGrace();
    const run = await runNow();
    expect(findingsFor(run, 'reversed_but_applied', { loadId: load.id })[0]).toMatchObject({ ledgerAmount: '9.00', enkashAmount: '9.00' });
  });

  it('should find card and parent balance drift from a load EnKash made that we never asked for', async () => {
    await postedLoad('EKCRECON07', '10.00');
    ctx.sim.state.plantApplied('MADE-ELSEWHERE-1', 'EKCRECON07', 700n);
    const run = await runNow();
    expect(findingsFor(run, 'card_balance_drift', { accountCode: 'card:EKCRECON07' })[0]).toMatchObject({
      ledgerAmount: '10.00',
      enkashAmount: '17.00',
      evidence: { enkash: { call: 'card-balance', balance: '17.00', differenceFromPosted: '7.00' } },
    });
    const [parent] = findingsFor(run, 'parent_balance_drift', { accountCode: PARENT });
    expect(parent.ledgerAmount).toBe((await ctx.app.api('GET', `/v1/accounts/${PARENT}`)).body.posted);
    expect(parent.enkashAmount).toBe(formatMinor(ctx.sim.state.parentBalanceMinor));
    expect(parent.evidence).toMatchObject({ enkash: { call: 'parent-account' }, note: expect.stringMatching(/funding/) });
  });

  it('should undo a posted load EnKash shows reversed, exactly once', async () => {
    const load = await postedLoad('EKCRECON08', '20.00');
    ctx.sim.state.setRecordStatus(load.reference, 'REVERSED');
    await pastGrace();
    const run = await runNow();
    expect(findingsFor(run, 'reversed_at_enkash', { loadId: load.id })).toHaveLength(1);
    // The ledger follows EnKash before the balances are compared: no drift left on this card.
    expect(findingsFor(run, 'card_balance_drift', { accountCode: 'card:EKCRECON08' })).toEqual([]);
    const after = (await ctx.app.api('GET', `/v1/card-loads/${load.id}`)).body;
    expect(after).toMatchObject({ status: 'posted', undoneAt: expect.any(String) });
    expect(after.events).toContainEqual(expect.objectContaining({ type: 'undone', actor: 'reconciliation' }));
    expect((await ctx.app.api('GET', '/v1/cards/EKCRECON08/balance')).body).toMatchObject({ posted: '0.00', pending: '0.00' });

    const again = await runNow();
    expect(again.findings.filter((f) => f.loadId === load.id)).toEqual([]);
    const undos = await ctx.db.query(`SELECT count(*)::int AS n FROM load_events WHERE load_id = $1 AND type = 'undone'`, [load.id]);
    expect(undos.rows[0].n).toBe(1);
  });

  it('should record a lookup it could not complete as evidence, not as a mismatch', async () => {
    const load = await postedLoad('EKCRECON09', '3.00');
    await pastGrace();
    ctx.sim.state.injectFault({ fault: 'http-502', endpoint: 'transaction/all', reference: load.reference });
    const run = await runNow();
    expect(run.status).toBe('completed');
    expect(run.findings.filter((f) => f.loadId === load.id)).toEqual([
      expect.objectContaining({
        kind: 'lookup_failed',
        evidence: expect.objectContaining({ enkash: expect.objectContaining({ outcome: 'unknown', httpStatus: 502 }) }),
      }),
    ]);
    expect((await runNow()).findings.filter((f) => f.loadId === load.id)).toEqual([]);
  });

  it('should stop a run on a systemic failure and leave its window to the next run', async () => {
    const lastGood = (await ctx.app.api('GET', '/v1/reports/reconciliation?limit=1')).body.lastRun;
    ctx.sim.state.injectFault({ fault: 'http-404', endpoint: 'transaction/all', count: 1000 });
    const failed = await runNow();
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/systemic/) });
    expect(failed.findings.length).toBeGreaterThanOrEqual(1);
    expect(failed.findings.every((f) => f.kind === 'lookup_failed')).toBe(true);
    // No lookup starts after the first systemic answer: at most the ones already in flight.
    expect(failed.checkedLoads).toBeLessThanOrEqual(8);
    expect(lastGood.checkedLoads).toBeGreaterThan(8);
    ctx.sim.state.clearFaults();
    const next = await runNow();
    expect(next).toMatchObject({ status: 'completed', windowFrom: failed.windowFrom });
  });

  it('should let one run at a time: 409 while another instance holds the run lock', async () => {
    const other = await sql(ctx.app.databaseUrl);
    try {
      // As an instance holds it (database/job-lock.ts): in an open transaction, released when it ends.
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [RECONCILIATION_LOCK_KEY]);
      const res = await ctx.app.api('POST', '/v1/reports/reconciliation/runs');
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('conflict');
    } finally {
      await other.end();
    }
    expect((await ctx.app.api('POST', '/v1/reports/reconciliation/runs')).status).toBe(201);
  });

  it('should report loads by status, findings in the window page by page, and the last run', async () => {
    const res = await ctx.app.api('GET', `/v1/reports/reconciliation?from=${startedAt}&limit=500`);
    expect(res.status).toBe(200);
    const inr = (status: string) => res.body.loads.find((l: { status: string }) => l.status === status);
    expect(inr('posted')).toMatchObject({ currency: 'INR', count: 9, amount: '242.92' });
    expect(inr('reversed')).toMatchObject({ currency: 'INR', count: 1, amount: '9.00' });
    expect(res.body.ageBuckets).toEqual([
      { status: 'pending', buckets: { '<1m': 0, '1-5m': 0, '5-60m': 0, '1-24h': 0, '>24h': 0 } },
      { status: 'needs_review', buckets: { '<1m': 0, '1-5m': 0, '5-60m': 0, '1-24h': 0, '>24h': 0 } },
    ]);
    const kinds = new Set(res.body.data.map((f: Finding) => f.kind));
    expect(res.body.nextCursor).toBeNull();
    // Every kind there is, each from a scenario above.
    for (const k of FINDING_KINDS) expect(kinds).toContain(k);
    const runs = await ctx.db.query(`SELECT id FROM reconciliation_runs ORDER BY started_at DESC LIMIT 1`);
    expect(res.body.lastRun).toMatchObject({ id: runs.rows[0].id, status: 'completed' });

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 100; i++) {
      const page: { status: number; body: { data: Finding[]; nextCursor: string | null } } = await ctx.app.api(
        'GET',
        `/v1/reports/reconciliation?from=${startedAt}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((f) => f.id));
      cursor = page.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(res.body.data.map((f: Finding) => f.id));
    expect((await ctx.app.api('GET', '/v1/reports/reconciliation?from=2999-01-01')).body.data).toEqual([]);
    const ofRun = await ctx.app.api('GET', `/v1/reports/reconciliation?runId=${runs.rows[0].id}`);
    expect(ofRun.body.data.every((f: { runId: string }) => f.runId === runs.rows[0].id)).toBe(true);
  });

  it('should answer the findings as CSV', async () => {
    const res = await ctx.app.api('GET', `/v1/reports/reconciliation?from=${startedAt}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.text.split('\r\n')[0]).toBe('id,runId,kind,loadId,reference,accountCode,ledgerAmount,enkashAmount,foundAt,evidence');
    expect(res.text).toContain('reversed_at_enkash');
  });

  it('should refuse bad query input with a 400 naming the field', async () => {
    const bad = async (query: string, field: string) => {
      const res = await expectGetRefused(ctx.app, `/v1/reports/reconciliation?${query}`, field);
      expect(res.body.error.code).toBe('validation_failed');
    };
    await bad('from=yesterday', 'from');
    await bad('to=2026-02-30', 'to');
    await bad('from=2026-03-05T10:00:00Z&to=2026-03-05T09:00:00Z', 'to');
    await bad('limit=0', 'limit');
    await bad('limit=501', 'limit');
    await bad('cursor=not-a-cursor', 'cursor');
    await bad('runId=42', 'runId');
    await bad('status=posted', 'status');
    await bad('format=xml', 'format');
  });

  it('should need ledger:read to read the report and ops:write to start a run', async () => {
    const key = async (scopes: string[]) =>
      (await ctx.app.api('POST', '/v1/api-keys', { body: { name: `recon-${scopes.join('+')}`, scopes } })).body.key;
    const reader = await key(['ledger:read']);
    const loader = await key(['loads:write']);
    const ops = await key(['ops:write']);
    expect((await ctx.app.api('GET', '/v1/reports/reconciliation', { key: reader })).status).toBe(200);
    expect((await ctx.app.api('GET', '/v1/reports/reconciliation', { key: loader })).status).toBe(403);
    expect((await ctx.app.api('GET', '/v1/reports/reconciliation', { key: null })).status).toBe(401);
    const denied = await ctx.app.api('POST', '/v1/reports/reconciliation/runs', { key: reader });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
    expect((await ctx.app.api('POST', '/v1/reports/reconciliation/runs', { key: ops })).status).toBe(201);
  });
});

describe('reconciliation without an EnKash client', () => {
  const ctx = useTestApp({ db: false });

  it('should still report, age what waits, and answer 503 to a run', async () => {
    for (const [i, amount] of ['1.00', '2.50'].entries()) {
      const res = await ctx.app.api('POST', '/v1/card-loads', {
        body: { enKashCardId: 'EKCRECON20', amount },
        headers: { 'idempotency-key': `no-enkash-${i}` },
      });
      expect(res.status).toBe(201);
    }
    const report = await ctx.app.api('GET', '/v1/reports/reconciliation');
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      from: null,
      to: null,
      lastRun: null,
      data: [],
      nextCursor: null,
      totals: [{ currency: 'INR', count: 2, amount: '3.50' }],
      ageBuckets: [
        { status: 'pending', buckets: { '<1m': 2, '1-5m': 0, '5-60m': 0, '1-24h': 0, '>24h': 0 } },
        { status: 'needs_review', buckets: { '<1m': 0, '1-5m': 0, '5-60m': 0, '1-24h': 0, '>24h': 0 } },
      ],
    });
    expect(report.body.loads).toContainEqual({ currency: 'INR', status: 'pending', count: 2, amount: '3.50' });
    const run = await ctx.app.api('POST', '/v1/reports/reconciliation/runs');
    expect(run.status).toBe(503);
    expect(run.body.error.code).toBe('service_unavailable');
  });
});

describe('reconciliation on a schedule', () => {
  let sim: RunningSimulator;
  let t: TestApp;
  beforeAll(async () => {
    sim = await startSim();
    t = await startSyncApp(sim, { RECONCILE_INTERVAL_MS: '1000' });
  });
  afterAll(async () => {
    await t.close();
    await sim.close();
  });

  it('should run by itself every RECONCILE_INTERVAL_MS', async () => {
    const load = await createLoad(t, 'EKCRECON30', '5.00');
    await waitForStatus(t, load.id, ['posted']);
    const lastRun = await waitFor(
      'a scheduled run',
      async () => {
        const r = (await t.api('GET', '/v1/reports/reconciliation')).body.lastRun;
        return r?.trigger === 'schedule' && r.status !== 'running' ? r : null;
      },
      10_000,
    );
    expect(lastRun).toMatchObject({ trigger: 'schedule', status: 'completed' });
  });
});
