import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which database serves one auditor read, and what its answer may claim (docs/operations.md, "Read replicas"). One plan
 * per request, carried in the request's async context, so that the stores ask one provider (LedgerReads) and never
 * decide themselves. Requests without a plan (writes, idempotency, operator actions, workers) read the primary.
 */
export type ReadSource = 'replica' | 'primary';

/** Why a request that could have read the replica was served by the primary. */
export const FALLBACK_REASONS = [
  'replica-unreachable',
  'replica-cancelled',
  'replica-not-in-recovery',
  'replica-lagging',
  'replica-timeline',
  'replica-identity',
  'replay-wait-expired',
] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

/**
 * A point on the primary at which a watermark was read (docs/time.md, "A stable past"): every row with a time before
 * `watermarkMs` is final, and every transaction that had committed then lies before `lsn` in the WAL of `timeline`.
 */
export interface FinalSample {
  lsn: string;
  timeline: number;
  watermarkMs: number;
}

/**
 * Where the primary's WAL stood when this request first asked (with its timeline and cluster): a replica that has
 * replayed `lsn` is at most `performance.now() - at` behind (docs/time.md, "Replicas").
 */
export interface PrimaryPoint {
  lsn: string;
  timeline: number;
  systemId: string;
  at: number;
}

export interface ReadPlan {
  source: ReadSource;
  /**
   * Whether DATABASE_READ_MAX_LAG_MS bounds this read even once its cut is replayed: true unless every row the route
   * answers is immutable once final (entries, balances of them), so a replayed cut is all it needs.
   */
  boundLag: boolean;
  /** The primary's position as this request first saw it (null until the first replica query asks). */
  primary: PrimaryPoint | null;
  fallback: FallbackReason | null;
  /** The sample this answer's final cut rests on; null while the answer claims nothing final. */
  required: FinalSample | null;
  /** performance.now() by which the replica must have replayed `required.lsn` (LEDGER_FINAL_WAIT_MS from the cut). */
  deadline: number;
  /** The replica's replay lag as last seen by this request, in ms (null: not asked, or unknown). */
  lagMs: number | null;
}

const plans = new AsyncLocalStorage<ReadPlan>();

export const currentReadPlan = (): ReadPlan | undefined => plans.getStore();

export function withReadPlan<T>(plan: ReadPlan, fn: () => T): T {
  return plans.run(plan, fn);
}

/** A pg_lsn ("16/B374D848") as a number, to compare two positions. */
export function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** The response headers every auditor read carries (names documented in docs/operations.md and the OpenAPI document). */
export const READ_HEADERS = {
  source: 'Ledger-Read-Source',
  fallback: 'Ledger-Read-Fallback',
  lag: 'Ledger-Replica-Lag-Ms',
  finalBefore: 'Ledger-Final-Before',
  finalLsn: 'Ledger-Final-Lsn',
} as const;

export function readHeaders(plan: ReadPlan): Record<string, string> {
  const h: Record<string, string> = { [READ_HEADERS.source]: plan.source };
  if (plan.fallback) h[READ_HEADERS.fallback] = plan.fallback;
  if (plan.source === 'replica' && plan.lagMs !== null) h[READ_HEADERS.lag] = String(plan.lagMs);
  if (plan.required && Number.isFinite(plan.required.watermarkMs)) {
    h[READ_HEADERS.finalBefore] = new Date(plan.required.watermarkMs).toISOString();
    h[READ_HEADERS.finalLsn] = `${plan.required.timeline}:${plan.required.lsn}`;
  }
  return h;
}
