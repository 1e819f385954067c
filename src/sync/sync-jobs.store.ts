import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { GroupCommit, Outcome } from '../common/group-commit';
import { SendGate } from '../database/identity-sql';
import { LoadLock } from '../card-loads/card-loads.store';
import { PendingResolution, ResolvedTransaction, resolutionColumns } from '../ledger/journal.store';

/**
 * A claimed outbox job with the load it pushes; `was*` fields are the job's state before this claim.
 * `token` is this claim's fencing token: every write the worker makes for the job is conditional on it.
 */
export interface ClaimedJob {
  loadId: string;
  /** The fencing token of this claim (a bigint from the sync_claim_tokens sequence, as text). */
  token: string;
  reference: string;
  enKashCardId: string;
  companyId: string;
  cardAccountId: string;
  amountMinor: bigint;
  description: string | null;
  remarks: string | null;
  loadStatus: 'pending' | 'needs_review';
  attempts: number;
  budgetAgeMs: number;
  /** A send may already have happened: look the reference up before any send. */
  wasNeedsLookup: boolean;
  /** The lookup may be trusted only from now on (EnKash's visibility lag after the last possible send). */
  lookupReady: boolean;
  lookupAfterMs: number;
  unknownSeen: boolean;
  pendingRejection: string | null;
  /** A held rejection may be trusted: the first unknown outcome is older than the confirmation window. */
  rejectionConfirmable: boolean;
  requestId: string | null;
  /** EnKash answered success to an earlier send after we had given up on it: the load is applied. */
  lateSuccess: boolean;
  /**
   * Monotonic time taken just before the statement that last started the lease (the claim or a fence) was
   * sent: the lease in the database runs at least leaseMs from this moment.
   */
  leaseFromMono: number;
}

export interface AttemptRecord {
  type: 'enkash_send' | 'enkash_lookup';
  outcome: string;
  httpStatus: number | null;
  code: string | null;
  message: string | null;
  durationMs: number;
}

export interface Reschedule {
  delayMs: number;
  needsLookup: boolean;
  /** Set lookup_after to now + this; null keeps the value the claim set. */
  lookupGraceMs: number | null;
  unknownSeen: boolean;
  pendingRejection: string | null;
  countAttempt: boolean;
}

/** Who holds a job, as an operator path sees it under the job's row lock. */
export interface JobHold {
  /** Parked: in review, nothing due, nobody holds it. The only state operators may act on. */
  parked: boolean;
  /** A send may still reach EnKash until this long from now (0 = none can). */
  sendMayLandForMs: number;
  /** Not parked: when the job's lease or next run ends, at the earliest (for Retry-After). */
  busyForMs: number;
  /** EnKash answered success to a send after the worker gave up on it: the load is applied. */
  lateSuccess: boolean;
}

/** Upper bound on fences per statement (a worker's concurrency is the usual bound). */
const FENCE_BATCH_MAX = 200;

/** One fence waiting for its batch; `fromMono` is when it was asked for (the lease is counted from then). */
type FenceItem = { job: ClaimedJob; owner: string; leaseMs: number; graceMs: number | null; fromMono: number };

/** A job as locked by a settlement or an operator: the claim that holds it, and what an operator may do. */
export type LockedJob = { token: string | null; owner: string | null } & JobHold;

/** A claim's attempt, as a load event and a count on the load (recordAttempts, settle). */
export type AttemptItem = { loadId: string; requestId: string | null; attempt: AttemptRecord };

type JobHoldRow = {
  token: string | null;
  lease_owner: string | null;
  parked: boolean;
  send_may_land_ms: number;
  busy_ms: number;
  late_success: boolean;
};

const toLockedJob = (r: JobHoldRow): LockedJob => ({
  token: r.token,
  owner: r.lease_owner,
  parked: r.parked,
  sendMayLandForMs: Number(r.send_may_land_ms),
  busyForMs: Number(r.busy_ms),
  lateSuccess: r.late_success,
});

const attemptColumns = (list: AttemptItem[]) => [
  list.map((x) => x.loadId),
  list.map((x) => x.attempt.type),
  list.map((x) => x.attempt.outcome),
  list.map((x) => x.attempt.httpStatus),
  list.map((x) => x.attempt.code),
  list.map((x) => x.attempt.message?.slice(0, 1000) ?? null),
  list.map((x) => Math.round(x.attempt.durationMs)),
  list.map((x) => x.requestId),
];

/** The job's state columns for the fenced write of a claim's holder. */
const HELD = `claim_token = $2::bigint AND lease_owner = $3`;

/** Whatever ends a claim clears its token: a straggling write from that claim then matches nothing. */
const UNCLAIM = `claim_token = NULL, lease_owner = NULL, lease_expires_at = NULL`;

/** An attempt of a claim, to be recorded only while that claim still holds its job (recordHeldAttempts). */
export interface HeldAttempt {
  job: Pick<ClaimedJob, 'loadId' | 'token' | 'requestId'>;
  owner: string;
  attempt: AttemptRecord;
}

/**
 * The only code that reads and writes sync_jobs; all times are the database's. Lock order everywhere:
 * the sync_jobs row before the card_loads row (docs/design.md, "Who may change a load").
 */
@Injectable()
export class SyncJobsStore {
  private readonly fences = new GroupCommit<FenceItem, { held: boolean; gate: SendGate }>(
    'fence',
    (batch) => this.writeFences(batch),
    FENCE_BATCH_MAX,
  );

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** A review load without a job (never made by this service; a hand-repaired database): a job that looks it up first. */
  async enqueueLookup(m: EntityManager, loadId: string): Promise<void> {
    await m.query(`INSERT INTO sync_jobs (load_id, needs_lookup) VALUES ($1, true) ON CONFLICT (load_id) DO NOTHING`, [loadId]);
  }

  /** Seconds since the oldest load still pending with a job was created (0 when none): the sync lag gauge. */
  async lagSeconds(): Promise<number> {
    const [lag]: Array<{ s: number }> = await this.ds.query(
      `SELECT coalesce(extract(epoch FROM clock_timestamp() - min(l.created_at)), 0)::float AS s
       FROM sync_jobs j JOIN card_loads l ON l.id = j.load_id WHERE l.status = 'pending'`,
    );
    return Number(lag.s);
  }

  /**
   * Claims due jobs whose lease is free or expired (FOR UPDATE SKIP LOCKED: instances never wait for each
   * other), gives each claim a fresh fencing token, and marks the job "a send may happen" before anything is
   * sent, so a crash after this point can only lead to a lookup, never to a blind re-send. A job that existed at the
   * database's last fork and has not been claimed since is lookup-first, not before the fork's moment (docs/design.md,
   * "A database that is a copy"). The statement is sync_jobs_claim (migration 1765470000000).
   */
  async claim(owner: string, limit: number, leaseMs: number, lookupGraceMs: number, rejectionConfirmMs: number): Promise<ClaimedJob[]> {
    const leaseFromMono = performance.now();
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT * FROM sync_jobs_claim($1, $2, $3, $4, $5)`, [
      owner,
      limit,
      leaseMs,
      lookupGraceMs,
      rejectionConfirmMs,
    ]);
    return rows.map((r) => ({
      loadId: String(r.load_id),
      token: String(r.token),
      reference: String(r.reference),
      enKashCardId: String(r.en_kash_card_id),
      companyId: String(r.company_id),
      cardAccountId: String(r.card_account_id),
      amountMinor: BigInt(String(r.amount)),
      description: (r.description as string | null) ?? null,
      remarks: (r.remarks as string | null) ?? null,
      loadStatus: r.status as ClaimedJob['loadStatus'],
      attempts: Number(r.attempts),
      budgetAgeMs: Number(r.budget_age_ms),
      wasNeedsLookup: Boolean(r.was_lookup),
      lookupReady: Boolean(r.lookup_ready),
      lookupAfterMs: Number(r.lookup_after_ms),
      unknownSeen: Boolean(r.unknown_seen),
      pendingRejection: (r.pending_rejection as string | null) ?? null,
      rejectionConfirmable: Boolean(r.rejection_confirmable),
      requestId: (r.request_id as string | null) ?? null,
      lateSuccess: Boolean(r.late_success),
      leaseFromMono,
    }));
  }

  /**
   * The fence before every EnKash exchange: the job is still held by this exact claim, and its lease now runs a
   * full leaseMs again. Before a send, a later claimer's lookup is also pushed past the end of this exchange plus
   * the grace (a lookup cannot apply money, so the fence before one leaves lookup_after alone), and the database
   * must be the one the ledger recorded, with sends not held (docs/operations.md, "Backup and restore"): a copy of
   * the ledger never sends a load blind, whatever its workers knew at their start. A claim taken before the last
   * fork was handled (its job is still below the fork's mark) may neither send nor look up: its gate is 'forked'.
   * `held` false = the claim was lost (another claim, or the load left the outbox), or, before a send, `gate` is
   * not open: nothing may be sent.
   */
  fence(
    job: ClaimedJob,
    owner: string,
    leaseMs: number,
    forSend: { lookupGraceMs: number } | null,
  ): Promise<{ held: boolean; gate: SendGate }> {
    return this.fences.submit({ job, owner, leaseMs, graceMs: forSend?.lookupGraceMs ?? null, fromMono: performance.now() });
  }

  /**
   * The fences of every exchange about to start, in one statement (group commit: a worker has up to its concurrency
   * in flight): the database's identity is read once for all the sends among them, and each job is updated only
   * under its own claim, as one fence alone would be. A batch may hold two fences of one job (a claim that lapsed
   * while its exchange was in flight, and the same worker's new claim): each answer is matched to its own item
   * (x.i), never by load id, so only the claim that holds the job is told so. The lease is counted from before the
   * batch was sent. The statement is sync_jobs_fence (migration 1765470000000).
   */
  private async writeFences(batch: FenceItem[]): Promise<Map<FenceItem, Outcome<{ held: boolean; gate: SendGate }>>> {
    const rows: Array<{ gate: SendGate; held: boolean; late_success: boolean }> = await this.ds.query(
      `SELECT * FROM sync_jobs_fence($1::uuid[], $2::bigint[], $3::text[], $4::float8[], $5::float8[])`,
      [
        batch.map((f) => f.job.loadId),
        batch.map((f) => f.job.token),
        batch.map((f) => f.owner),
        batch.map((f) => f.leaseMs),
        batch.map((f) => f.graceMs),
      ],
    );
    return new Map(
      batch.map((f, i) => {
        const { gate, held, late_success } = rows[i];
        if (held) {
          f.job.leaseFromMono = f.fromMono;
          f.job.lateSuccess = late_success;
        }
        return [f, { ok: true, value: { held, gate } }];
      }),
    );
  }

  /**
   * EnKash answered a load after its sender gave up: the answer goes into the load's events (every attempt, in
   * order), and a success is kept on the job as proof of application (no claim is needed: it is a fact about
   * EnKash, not a decision; the job may already be gone, then only the event is written). A parked job is made
   * due, so a worker posts the load by it.
   */
  async recordLateAnswer(reference: string, a: AttemptRecord, succeeded: boolean): Promise<void> {
    await this.ds.query(
      `WITH l AS (SELECT id, request_id FROM card_loads WHERE reference = $1),
            j AS (UPDATE sync_jobs SET late_success_at = coalesce(late_success_at, clock_timestamp()), updated_at = clock_timestamp(),
                    -- A load waiting in review is woken: a worker posts it by this proof.
                    due_at = CASE WHEN due_at = 'infinity' THEN clock_timestamp() ELSE due_at END
                  WHERE $2 AND load_id = (SELECT id FROM l))
       INSERT INTO load_events (load_id, type, outcome, http_status, code, message, duration_ms, actor, request_id)
       SELECT id, 'enkash_late_answer', $3, $4, $5, $6, $7, 'sync-worker', request_id FROM l`,
      [reference, succeeded, a.outcome, a.httpStatus, a.code, a.message?.slice(0, 1000) ?? null, Math.round(a.durationMs)],
    );
  }

  /**
   * Records an attempt (event + counters) and puts the job back for later, in one transaction, only while this
   * claim holds the job. false = fenced out: nothing was written.
   */
  async reschedule(m: EntityManager, job: ClaimedJob, owner: string, r: Reschedule, attempt: AttemptRecord | null): Promise<boolean> {
    const [, count] = await m.query<[unknown[], number]>(
      `UPDATE sync_jobs SET due_at = clock_timestamp() + make_interval(secs => $4::float / 1000),
         attempts = attempts + $5, needs_lookup = $6,
         lookup_after = CASE WHEN $7::float IS NULL THEN lookup_after ELSE clock_timestamp() + make_interval(secs => $7::float / 1000) END,
         unknown_seen = $8, pending_rejection = $9, last_outcome = $10,
         first_unknown_at = CASE WHEN $8 THEN coalesce(first_unknown_at, clock_timestamp()) ELSE first_unknown_at END,
         ${UNCLAIM}, updated_at = clock_timestamp()
       WHERE load_id = $1 AND ${HELD}`,
      [
        job.loadId,
        job.token,
        owner,
        r.delayMs,
        r.countAttempt ? 1 : 0,
        r.needsLookup,
        r.lookupGraceMs,
        r.unknownSeen,
        r.pendingRejection,
        attempt?.outcome ?? null,
      ],
    );
    if (Number(count) !== 1) return false;
    if (attempt) await this.recordAttempts(m, [{ loadId: job.loadId, requestId: job.requestId, attempt }]);
    return true;
  }

  /** Gives the job back untouched (shutdown, circuit open, lookup not yet trustworthy), if this claim still holds it. */
  async release(job: ClaimedJob, owner: string, delayMs = 0): Promise<void> {
    await this.ds.query(
      `UPDATE sync_jobs SET ${UNCLAIM},
         due_at = greatest(due_at, clock_timestamp() + make_interval(secs => $4::float / 1000)), updated_at = clock_timestamp()
       WHERE load_id = $1 AND ${HELD}`,
      [job.loadId, job.token, owner, delayMs],
    );
  }

  /**
   * An attempt of a claim that still holds its job (a lookup that found nothing, before the send): locks the job
   * row (first, as everywhere) and writes only if the token still matches. false = fenced out, nothing written.
   */
  async recordHeldAttempt(
    m: EntityManager,
    job: Pick<ClaimedJob, 'loadId' | 'token' | 'requestId'>,
    owner: string,
    a: AttemptRecord,
  ): Promise<boolean> {
    const [held] = await this.recordHeldAttempts(m, [{ job, owner, attempt: a }]);
    return held;
  }

  /**
   * recordHeldAttempt for many claims in one statement (the worker's lookups before their sends, group-committed):
   * the jobs their claims still hold are locked in load id order, as every writer of them does, and only those
   * claims' attempts are recorded. The answer is per item, in order: whether its claim held its job.
   */
  async recordHeldAttempts(m: EntityManager, items: HeldAttempt[]): Promise<boolean[]> {
    const held: Array<{ i: string }> = await m.query(
      `SELECT x.i FROM unnest($1::uuid[], $2::bigint[], $3::text[]) WITH ORDINALITY AS x(load_id, token, owner, i)
       JOIN sync_jobs j ON j.load_id = x.load_id AND j.claim_token = x.token AND j.lease_owner = x.owner
       ORDER BY j.load_id FOR UPDATE OF j`,
      [items.map((h) => h.job.loadId), items.map((h) => h.job.token), items.map((h) => h.owner)],
    );
    const answers = items.map(() => false);
    for (const r of held) answers[Number(r.i) - 1] = true;
    const attempts = items
      .filter((_, i) => answers[i])
      .map((h) => ({ loadId: h.job.loadId, requestId: h.job.requestId, attempt: h.attempt }));
    if (attempts.length) await this.recordAttempts(m, attempts);
    return answers;
  }

  /**
   * Attempts as load events, and each load's attempt counter, in one statement. Callers hold the jobs' row
   * locks under a verified token (settlement, reschedule, recordHeldAttempt).
   */
  async recordAttempts(m: EntityManager, list: AttemptItem[]): Promise<void> {
    await m.query(
      `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[])
                  AS x(load_id, type, outcome, http_status, code, message, duration_ms, request_id)),
            ev AS (INSERT INTO load_events (load_id, type, outcome, http_status, code, message, duration_ms, actor, request_id)
                   SELECT load_id, type, outcome, http_status, code, message, duration_ms, 'sync-worker', request_id FROM x)
       UPDATE card_loads l SET attempts = l.attempts + n.count, updated_at = clock_timestamp()
       FROM (SELECT load_id, count(*)::int AS count FROM x GROUP BY load_id) n WHERE l.id = n.load_id`,
      attemptColumns(list),
    );
  }

  /**
   * The turn on the loads' accounts and the moment, then their jobs and then the loads locked in load id order
   * (settlement_lock, migration 1765220000000), in one round trip: each load as locked, and its job's holder.
   */
  async lockForSettlement(
    m: EntityManager,
    loadIds: string[],
  ): Promise<{ loads: Array<LoadLock & { id: string }>; jobs: Map<string, LockedJob> }> {
    const rows: Array<LoadLock & { id: string; has_job: boolean } & JobHoldRow> = await m.query(
      `SELECT id, status, journal_transaction_id, undone_at, has_job, ${JOB_HOLD_COLUMNS} FROM settlement_lock($1::uuid[])`,
      [loadIds],
    );
    const loads = rows.map(({ id, status, journal_transaction_id, undone_at }) => ({ id, status, journal_transaction_id, undone_at }));
    return { loads, jobs: new Map(rows.filter((r) => r.has_job).map((r) => [r.id, toLockedJob(r)])) };
  }

  /**
   * A settlement's writes after its locks, in one round trip (card_loads_settle, migration 1765220000000): the
   * attempts, phase two of the loads' pending transfers (ledger_resolve_pending: pass it as the ledger's writer,
   * LedgerService.resolvePendingMany), the final statuses with their events, and the end of the jobs. Returns what
   * the ledger's call returns.
   */
  async settle(
    m: EntityManager,
    attempts: AttemptItem[],
    resolutions: PendingResolution[],
    statuses: Array<{ status: 'posted' | 'reversed'; reason: string; actor: string; requestId: string | null }>,
  ): Promise<ResolvedTransaction[]> {
    return m.query(
      `SELECT * FROM card_loads_settle($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[],
         $9::uuid[], $10::text[], $11::text[], $12::uuid[], $13::uuid[], $14::text[], $15::text[], $16::text[], $17::text[])`,
      [
        ...attemptColumns(attempts),
        ...resolutionColumns(resolutions),
        statuses.map((s) => s.status),
        statuses.map((s) => s.reason.slice(0, 1000)),
        statuses.map((s) => s.actor),
        statuses.map((s) => s.requestId),
      ],
    );
  }

  /**
   * Locks the jobs of these loads (in load id order, before any card_loads row) and returns the token and
   * holder of each, for a settlement to check who may still write.
   */
  async lockJobs(m: EntityManager, loadIds: string[]): Promise<Map<string, LockedJob>> {
    const rows: Array<{ load_id: string } & JobHoldRow> = await m.query(
      `SELECT load_id, ${JOB_HOLD_COLUMNS}
         FROM (SELECT DISTINCT unnest($1::uuid[]) AS id ORDER BY 1) q
         CROSS JOIN LATERAL (SELECT * FROM sync_jobs WHERE load_id = q.id FOR UPDATE) j`,
      [loadIds],
    );
    return new Map(rows.map((r) => [r.load_id, toLockedJob(r)]));
  }

  /**
   * Parks the job of a load that went to review, if this claim still holds it: nothing is due until an operator
   * re-queues it. After a send, `lookupGraceMs` restarts the grace from now, the end of that exchange (as
   * reschedule does). false = fenced out, nothing written. Takes the job's row lock (before the load's).
   */
  async park(m: EntityManager, job: ClaimedJob, owner: string, lastOutcome: string | null, lookupGraceMs: number | null): Promise<boolean> {
    const [, count] = await m.query<[unknown[], number]>(
      // A late success recorded while this claim still held the job (recordLateAnswer wakes only a job parked already)
      // is proof of application: the job stays due, and the next claim posts the load by it.
      `UPDATE sync_jobs SET due_at = CASE WHEN late_success_at IS NULL THEN 'infinity' ELSE clock_timestamp() END, ${UNCLAIM},
         needs_lookup = true, last_outcome = coalesce($4, last_outcome),
         lookup_after = CASE WHEN $5::float IS NULL THEN lookup_after ELSE clock_timestamp() + make_interval(secs => $5::float / 1000) END,
         updated_at = clock_timestamp() WHERE load_id = $1 AND ${HELD}`,
      [job.loadId, job.token, owner, lastOutcome, lookupGraceMs],
    );
    return Number(count) === 1;
  }

  /**
   * Proof of application the worker holds itself: EnKash answered success, but the settlement could not be written
   * (the claim was lost, or the database failed). Kept like a late answer, so no later claim sends the load again.
   */
  async recordSuccessEvidence(loadId: string): Promise<void> {
    await this.ds.query(
      `UPDATE sync_jobs SET late_success_at = coalesce(late_success_at, clock_timestamp()), updated_at = clock_timestamp(),
         due_at = CASE WHEN due_at = 'infinity' THEN clock_timestamp() ELSE due_at END
       WHERE load_id = $1`,
      [loadId],
    );
  }

  /**
   * Operator re-queue of a parked job: a fresh budget, lookup first (the reference may have been applied
   * meanwhile). Only a parked job: the caller checked `lockJobs(...).parked` in the same transaction.
   */
  async requeue(m: EntityManager, loadId: string): Promise<void> {
    await m.query(
      `UPDATE sync_jobs SET due_at = clock_timestamp(), attempts = 0, budget_started_at = clock_timestamp(), needs_lookup = true,
         updated_at = clock_timestamp() WHERE load_id = $1 AND ${PARKED}`,
      [loadId],
    );
  }

  /**
   * The open jobs a fork makes lookup-first (database-identity.service.ts): all of them, for the fork's report. The
   * fork itself writes none of them: it is marked once on the identity row, and each job's next claim reads it (FORK,
   * migration 1765470000000).
   */
  async countOpen(): Promise<number> {
    const [{ n }]: Array<{ n: string }> = await this.ds.query(`SELECT count(*) AS n FROM sync_jobs`);
    return Number(n);
  }

  /** Sends resume after a fork was adopted: jobs waiting for a later run and held by nobody are due now. */
  async wakeWaiting(m: EntityManager): Promise<number> {
    const [, n] = await m.query<[unknown[], number]>(
      `UPDATE sync_jobs SET due_at = clock_timestamp(), updated_at = clock_timestamp()
       WHERE due_at > clock_timestamp() AND due_at <> 'infinity' AND lease_owner IS NULL`,
    );
    return Number(n);
  }
}

/**
 * Parked: nothing due and nobody holds it. The token is not part of it: an instance of an older version parks
 * without clearing it (a rolling deploy), and a NULL holder already fences every token out (HELD needs the holder).
 */
const PARKED = `(due_at = 'infinity' AND lease_owner IS NULL)`;
/** Until the lease ends or the next run is due, whichever is later (finite when not parked). */
const BUSY_MS = `greatest(0, extract(epoch FROM (greatest(coalesce(lease_expires_at, clock_timestamp()),
  CASE WHEN due_at = 'infinity' THEN clock_timestamp() ELSE due_at END) - clock_timestamp())) * 1000)::float8`;
/**
 * How long a send that may already be on its way could still land at EnKash: until lookup_after, or until the last
 * fork's own (FORK, migration 1765470000000), which a job not claimed since the fork has not taken yet. The fork's
 * counts for every job here (settlement_lock does not return the job's mark): at most SYNC_LEASE_MS +
 * SYNC_LOOKUP_GRACE_MS after a fork, an operator's reversal of a load made since waits as well.
 */
const SEND_MAY_LAND_MS = `greatest(0, extract(epoch FROM (greatest(lookup_after, clock_timestamp(),
  (SELECT i.fork_lookup_after FROM database_identity i WHERE i.id = 1)) - clock_timestamp())) * 1000)::float8`;
/** What lockJobs and lockForSettlement read of a job row (JobHoldRow). */
const JOB_HOLD_COLUMNS = `claim_token::text AS token, lease_owner, ${PARKED} AS parked, ${SEND_MAY_LAND_MS} AS send_may_land_ms,
  ${BUSY_MS} AS busy_ms, late_success_at IS NOT NULL AS late_success`;
