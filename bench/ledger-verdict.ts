/**
 * The end of a run that drove loads through faults (`npm run soak`, `npm run test:ha`): fund the parent as EnKash
 * has it, let every load settle once the faults stop, then check the ledger's invariants, each load against what
 * EnKash applied (exactly once when posted, never when reversed, nothing the ledger does not know), every card's
 * balance against EnKash's, and the audit verifier. Each check returns problems as text, empty when it holds.
 */
import { Client } from 'pg';
import { formatMinor } from '../src/common/money';
import { SIMULATOR_DEFAULTS } from '../src/config/app-config';
import type { SimulatorOptions } from '../src/enkash-simulator/simulator';
import { parseRupeesMinor } from '../src/enkash-simulator/simulator-json';
import type { SimulatorState } from '../src/enkash-simulator/simulator-state';
import { ledgerViolations } from '../test/support/ledger-checks';

export type Post = (p: string, body: unknown, key?: string) => Promise<Response>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run's admin client of one API process: POST with the admin key and an optional Idempotency-Key. */
export function adminPost(apiUrl: string, adminKey: string): Post {
  return (p, body, key) =>
    fetch(`${apiUrl}${p}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    });
}

/**
 * The EnKash faults of a run that must still end exactly once: every fault the simulator can play on a card call,
 * at `failureRate`, with a visibility lag on lookups (`SYNC_LOOKUP_GRACE_MS` of FAULT_SYNC_ENV covers it).
 */
export const FAULTY_ENKASH: Required<Pick<SimulatorOptions, 'latencyMs' | 'lookupLagMs' | 'hangMs' | 'failureRate' | 'failureFaults'>> = {
  latencyMs: 5,
  lookupLagMs: 100,
  hangMs: 600,
  failureRate: 0.15,
  failureFaults: [
    'timeout-after-apply',
    'timeout-before-apply',
    'reset',
    'reset-after-apply',
    'http-500',
    'http-503',
    'html-502',
    'http-429',
    'no-code',
  ],
};

/**
 * The workers' settings for such a run: short timeouts, leases and backoffs so faults come and heal many times a
 * minute. The lookup grace must exceed the simulator's lag plus the longest a send may wait on a starved machine
 * before EnKash applies it (bench/RESULTS.md measured 1,356 ms on two busy cores).
 */
export const FAULT_SYNC_ENV = (lookupGraceMs: number): Record<string, string> => ({
  ENKASH_TIMEOUT_MS: '300',
  SYNC_LOOKUP_GRACE_MS: String(lookupGraceMs),
  SYNC_REJECTION_CONFIRM_MS: '3000',
  SYNC_LEASE_MS: '3000',
  SYNC_POLL_MS: '20',
  SYNC_BACKOFF_BASE_MS: '20',
  SYNC_BACKOFF_CAP_MS: '300',
  SYNC_MAX_ATTEMPTS: '6',
  SYNC_CIRCUIT_THRESHOLD: '20',
  SYNC_CIRCUIT_OPEN_MS: '200',
});

/** What EnKash holds, from the simulator in this process (its state) or in another one (its admin API). */
export interface EnKashView {
  appliedCount(reference: string): number;
  /** Every reference EnKash applied at least once. */
  appliedReferences(): string[];
  cardBalanceMinor(enKashCardId: string): bigint;
  parentBalanceMinor: bigint;
  requestsFor(reference: string): Promise<unknown>;
}

export function localEnKash(state: SimulatorState): EnKashView {
  return {
    appliedCount: (r) => state.appliedCount(r),
    appliedReferences: () => [...new Set(state.records().flatMap((t) => (t.pgReferenceNumber === null ? [] : [t.pgReferenceNumber])))],
    cardBalanceMinor: (card) => state.cardBalanceMinor(card),
    get parentBalanceMinor() {
      return state.parentBalanceMinor;
    },
    requestsFor: (r) => Promise.resolve(state.requestsFor(r)),
  };
}

/** A snapshot of a simulator in its own process (`GET /__admin/state`), taken now. */
export async function remoteEnKash(simUrl: string): Promise<EnKashView> {
  const res = await fetch(`${simUrl}/__admin/state`);
  if (res.status !== 200) throw new Error(`simulator state: ${res.status}`);
  const s = (await res.json()) as { applied: Record<string, number>; cards: Record<string, string>; parentBalance: string };
  const minor = (rupees: string | undefined) => (rupees === undefined ? 0n : (parseRupeesMinor(rupees) ?? 0n));
  return {
    appliedCount: (r) => s.applied[r] ?? 0,
    appliedReferences: () => Object.keys(s.applied),
    cardBalanceMinor: (card) => minor(s.cards[card]),
    parentBalanceMinor: minor(s.parentBalance),
    requestsFor: async (r) =>
      ((await (await fetch(`${simUrl}/__admin/requests/${encodeURIComponent(r)}`)).json()) as { requests: unknown }).requests,
  };
}

/** EnKash's parent account starts funded; the ledger's parent is funded by the same amount, so reconciliation can agree. */
export async function mirrorParentFunding(post: Post, parentBalanceMinor: bigint): Promise<void> {
  const parent = `parent:${SIMULATOR_DEFAULTS.cardAccountId}`;
  for (const body of [
    { code: 'external:funding', currency: 'INR', normalSide: 'debit' },
    { code: parent, currency: 'INR', normalSide: 'credit' },
  ]) {
    const res = await post('/v1/accounts', body);
    if (res.status !== 201) throw new Error(`account ${body.code}: ${res.status} ${await res.text()}`);
  }
  const amount = formatMinor(parentBalanceMinor);
  const res = await post('/v1/journal', {
    description: 'mirror EnKash parent funding',
    entries: [
      { accountCode: 'external:funding', direction: 'debit', amount },
      { accountCode: parent, direction: 'credit', amount },
    ],
  });
  if (res.status !== 201) throw new Error(`parent funding: ${res.status} ${await res.text()}`);
}

/**
 * Once EnKash is healthy again: loads parked for review are re-queued (as an operator would) until no load is
 * pending or in review, for at most `timeoutMs`.
 */
export async function settleOpenLoads(c: Client, post: Post, timeoutMs = 120_000): Promise<string[]> {
  const problems: string[] = [];
  const settleBy = Date.now() + timeoutMs;
  for (;;) {
    const review = (await c.query(`SELECT id FROM card_loads WHERE status = 'needs_review'`)).rows;
    for (const r of review) {
      const res = await post(`/v1/card-loads/${r.id}/requeue`, {});
      if (res.status !== 200 && res.status !== 409) problems.push(`requeue of ${r.id} answered ${res.status}`);
    }
    const open = (await c.query(`SELECT count(*)::int AS n FROM card_loads WHERE status IN ('pending', 'needs_review')`)).rows[0].n;
    if (open === 0) return problems;
    if (Date.now() > settleBy) return [...problems, `${open} loads still open ${timeoutMs / 1000} s after the faults stopped`];
    await sleep(500);
  }
}

export interface LedgerVerdict {
  problems: string[];
  loads: number;
  counts: Record<string, number>;
}

/**
 * Every invariant of the ledger, each load against EnKash (exactly once when posted, never when reversed, and no
 * reference EnKash applied that the ledger does not have: a load lost with a database), every card's posted balance
 * against EnKash's. The evidence of the first wrong loads (their events and every request EnKash saw for them) is
 * written to stdout.
 */
export async function checkLedgerAgainstEnKash(c: Client, enkash: EnKashView): Promise<LedgerVerdict> {
  const problems: string[] = [];
  for (const [name, rows] of Object.entries(await ledgerViolations(c)))
    if (rows.length) problems.push(`${name}: ${JSON.stringify(rows).slice(0, 300)}`);
  const loads: Array<{ id: string; reference: string; status: string }> = (await c.query(`SELECT id, reference, status FROM card_loads`))
    .rows;
  const suspects: typeof loads = [];
  for (const l of loads) {
    const applied = enkash.appliedCount(l.reference);
    if (l.status === 'posted' && applied !== 1) problems.push(`posted load ${l.reference} applied ${applied} times at EnKash`);
    if (l.status === 'reversed' && applied !== 0) problems.push(`reversed load ${l.reference} applied ${applied} times at EnKash`);
    if ((l.status === 'posted' && applied !== 1) || (l.status === 'reversed' && applied !== 0)) suspects.push(l);
  }
  const known = new Set(loads.map((l) => l.reference));
  const unknown = enkash.appliedReferences().filter((r) => !known.has(r));
  if (unknown.length)
    problems.push(`${unknown.length} references applied at EnKash are not in the ledger: ${unknown.slice(0, 5).join(', ')}`);
  for (const l of suspects.slice(0, 5)) {
    const events = (
      await c.query(
        `SELECT at, type, outcome, http_status, code, message, duration_ms, actor FROM load_events WHERE load_id = $1 ORDER BY id`,
        [l.id],
      )
    ).rows;
    const requests = await enkash.requestsFor(l.reference);
    process.stdout.write(`evidence: ${JSON.stringify({ reference: l.reference, status: l.status, events, enkash: requests })}\n`);
  }
  const cards = (await c.query(`SELECT code, posted_credits - posted_debits AS posted FROM accounts WHERE code LIKE 'card:%'`)).rows;
  for (const a of cards) {
    const simMinor = enkash.cardBalanceMinor(a.code.slice(5));
    if (simMinor !== BigInt(a.posted)) problems.push(`${a.code}: ledger posted ${a.posted}, EnKash ${simMinor}`);
  }
  const counts = Object.fromEntries(
    (await c.query(`SELECT status, count(*)::int AS n FROM card_loads GROUP BY status`)).rows.map((r) => [r.status, r.n]),
  );
  return { problems, loads: loads.length, counts };
}

/** The complete audit verifier (`GET /v1/audit/verify`): the hash chain, the seals, the signed head. */
export async function auditVerifierProblems(apiUrl: string, adminKey: string): Promise<string[]> {
  const res = await fetch(`${apiUrl}/v1/audit/verify`, { headers: { authorization: `Bearer ${adminKey}` } });
  const body = (await res.json()) as { ok?: boolean };
  return res.status === 200 && body.ok === true ? [] : [`audit verifier: ${res.status} ${JSON.stringify(body).slice(0, 300)}`];
}
