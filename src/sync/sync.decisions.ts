import { EnKashLookupResult, EnKashOutcome } from '../enkash/enkash.types';
import { AttemptRecord, ClaimedJob } from './sync-jobs.store';

/**
 * The settlement rules of docs/design.md ("A load's life", step 3) as pure functions: what to do with a load given what EnKash said.
 * Kept free of I/O so each rule reads on one screen and is tested on its own.
 */
export type Decision =
  | { action: 'post'; reason: string }
  | { action: 'reverse'; reason: string }
  | { action: 'send' }
  | {
      action: 'retry';
      needsLookup: boolean;
      unknownSeen: boolean;
      pendingRejection: string | null;
      afterLookupGrace: boolean;
      reason: string;
      /** Waiting out the rejection window is not a failure: it does not use up the attempt budget (the age budget still holds). */
      waiting?: true;
    };

/** Retry, looking the reference up before any send: a send may have been applied (an unknown outcome from now on). */
function lookUpFirst(pendingRejection: string | null, reason: string, afterLookupGrace = true): Extract<Decision, { action: 'retry' }> {
  return { action: 'retry', needsLookup: true, unknownSeen: true, pendingRejection, afterLookupGrace, reason };
}

export function attemptOf(type: AttemptRecord['type'], o: EnKashOutcome<unknown>): AttemptRecord {
  return {
    type,
    outcome: o.kind,
    httpStatus: o.httpStatus,
    code: o.code,
    message: o.kind === 'unknown' || o.kind === 'systemic' ? `${o.reason}: ${o.message}` : o.message,
    durationMs: o.durationMs,
  };
}

/** After a lookup by reference: applied → posted; reversed on their side → reversed; absent → send or trust a held rejection. */
export function decideAfterLookup(job: ClaimedJob, o: EnKashOutcome<EnKashLookupResult>): Decision {
  if (o.kind !== 'succeeded') {
    return {
      action: 'retry',
      needsLookup: true,
      unknownSeen: job.unknownSeen,
      pendingRejection: job.pendingRejection,
      afterLookupGrace: false,
      reason: `lookup ${o.kind}`,
    };
  }
  const applied = o.value.matches.filter((x) => x.status === 'success');
  if (applied.length > 0) {
    return {
      action: 'post',
      reason:
        applied.length === 1
          ? 'EnKash lookup shows the load applied'
          : `EnKash lookup shows the reference applied ${applied.length} times (reported for reconciliation)`,
    };
  }
  if (o.value.matches.some((x) => x.status === 'reversed')) return { action: 'reverse', reason: 'EnKash lookup shows the load reversed' };
  if (o.value.matches.some((x) => x.status === 'other')) {
    return lookUpFirst(job.pendingRejection, 'EnKash shows the reference in a state we cannot read', false);
  }
  // Absent (or only failed attempts): EnKash did not apply it, as far as it shows yet.
  if (job.pendingRejection !== null) {
    // EnKash's visibility lag is unknown: a reversal is final, so "absent" must hold long after the first doubt.
    if (job.rejectionConfirmable)
      return { action: 'reverse', reason: `rejected by EnKash (confirmed absent by lookup): ${job.pendingRejection}` };
    return {
      ...lookUpFirst(job.pendingRejection, 'rejection held: the reference is absent so far, confirming again later'),
      waiting: true,
    };
  }
  return { action: 'send' };
}

/**
 * After a send. A definite rejection reverses the load only on a first send; after any earlier unknown
 * outcome (or a crash mid-send) it is held until a lookup confirms the reference absent, because EnKash may
 * be rejecting a duplicate of a load it already applied.
 */
export function decideAfterSend(job: ClaimedJob, o: EnKashOutcome<unknown>, firstSend: boolean): Decision {
  switch (o.kind) {
    case 'succeeded':
      return { action: 'post', reason: 'EnKash applied the load' };
    case 'rejected':
      if (firstSend && !job.unknownSeen) return { action: 'reverse', reason: `rejected by EnKash: ${o.message}` };
      return lookUpFirst(
        o.message || 'rejected',
        'rejection after an earlier unknown outcome: held until a lookup confirms the reference absent',
      );
    case 'unknown':
      return lookUpFirst(null, `unknown outcome: ${o.reason}`);
    case 'systemic':
    case 'not_sent':
      // Usually nothing was applied (auth, config, a deadline before sending), but an unreadable success is
      // possible: look up before any re-send.
      return lookUpFirst(job.pendingRejection, `${o.kind === 'systemic' ? 'systemic failure' : 'not sent'}: ${o.reason}`);
  }
}

/** Exponential backoff with full jitter and a cap (AWS architecture blog): spreads retries of a fleet. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
