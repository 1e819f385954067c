import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** A claimed outbox job with the load it pushes; `was*` fields are the job's state before this claim. */
export interface ClaimedJob {
  loadId: string;
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
  /** Monotonic time of the claim, to stop work well before the lease runs out. */
  claimedAtMono: number;
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

/** The only code that reads and writes sync_jobs; all times are the database's. */
@Injectable()
export class SyncJobsStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /**
   * Claims due jobs whose lease is free or expired (FOR UPDATE SKIP LOCKED: instances never wait for each
   * other) and marks them "a send may happen" before anything is sent, so a crash after this point can
   * only lead to a lookup, never to a blind re-send.
   */
  async claim(owner: string, limit: number, leaseMs: number, lookupGraceMs: number, rejectionConfirmMs: number): Promise<ClaimedJob[]> {
    // UPDATE ... RETURNING comes back from TypeORM as [rows, affectedCount].
    const [rows]: [Array<Record<string, unknown>>, number] = await this.ds.query(
      `WITH due AS (
         SELECT j.load_id, j.needs_lookup AS was_lookup, j.lookup_after AS was_lookup_after
         FROM sync_jobs j
         WHERE j.due_at <= clock_timestamp() AND (j.lease_expires_at IS NULL OR j.lease_expires_at < clock_timestamp())
         ORDER BY j.due_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE sync_jobs j
       SET lease_owner = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $3::float / 1000),
           needs_lookup = true,
           lookup_after = CASE WHEN due.was_lookup THEN j.lookup_after
                               ELSE clock_timestamp() + make_interval(secs => ($3::float + $4::float) / 1000) END,
           updated_at = clock_timestamp()
       FROM due, card_loads l
       WHERE j.load_id = due.load_id AND l.id = j.load_id
       RETURNING j.load_id, j.attempts, j.unknown_seen, j.pending_rejection, due.was_lookup,
         (due.was_lookup_after IS NULL OR due.was_lookup_after <= clock_timestamp()) AS lookup_ready,
         greatest(0, extract(epoch FROM (coalesce(due.was_lookup_after, clock_timestamp()) - clock_timestamp())) * 1000)::float AS lookup_after_ms,
         (extract(epoch FROM clock_timestamp() - j.budget_started_at) * 1000)::float AS budget_age_ms,
         (j.first_unknown_at IS NULL OR j.first_unknown_at <= clock_timestamp() - make_interval(secs => $5::float / 1000)) AS rejection_confirmable,
         l.reference, l.en_kash_card_id, l.company_id, l.card_account_id, l.amount, l.description, l.remarks, l.status, l.request_id`,
      [owner, limit, leaseMs, lookupGraceMs, rejectionConfirmMs]);
    const claimedAtMono = performance.now();
    return rows.map((r) => ({
      loadId: String(r.load_id), reference: String(r.reference), enKashCardId: String(r.en_kash_card_id),
      companyId: String(r.company_id), cardAccountId: String(r.card_account_id), amountMinor: BigInt(String(r.amount)),
      description: (r.description as string | null) ?? null, remarks: (r.remarks as string | null) ?? null,
      loadStatus: r.status as ClaimedJob['loadStatus'], attempts: Number(r.attempts), budgetAgeMs: Number(r.budget_age_ms),
      wasNeedsLookup: Boolean(r.was_lookup), lookupReady: Boolean(r.lookup_ready), lookupAfterMs: Number(r.lookup_after_ms),
      unknownSeen: Boolean(r.unknown_seen), pendingRejection: (r.pending_rejection as string | null) ?? null,
      rejectionConfirmable: Boolean(r.rejection_confirmable),
      requestId: (r.request_id as string | null) ?? null, claimedAtMono,
    }));
  }

  /** Records an attempt (event + counters) and puts the job back for later, in one transaction. */
  async reschedule(m: EntityManager, job: ClaimedJob, owner: string, r: Reschedule, attempt: AttemptRecord | null): Promise<void> {
    if (attempt) await this.recordAttempt(m, job, attempt);
    await m.query(
      `UPDATE sync_jobs SET due_at = clock_timestamp() + make_interval(secs => $3::float / 1000),
         attempts = attempts + $4, needs_lookup = $5,
         lookup_after = CASE WHEN $6::float IS NULL THEN lookup_after ELSE clock_timestamp() + make_interval(secs => $6::float / 1000) END,
         unknown_seen = $7, pending_rejection = $8, last_outcome = $9,
         first_unknown_at = CASE WHEN $7 THEN coalesce(first_unknown_at, clock_timestamp()) ELSE first_unknown_at END,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
       WHERE load_id = $1 AND lease_owner = $2`,
      [job.loadId, owner, r.delayMs, r.countAttempt ? 1 : 0, r.needsLookup, r.lookupGraceMs, r.unknownSeen, r.pendingRejection,
        attempt?.outcome ?? null]);
  }

  /**
   * The fence before an EnKash call on a job that has waited since its claim: the lease is still ours
   * (nobody took it over) and now runs a full leaseMs again; a takeover's lookup is pushed past it too.
   * false = the job is no longer ours and nothing may be sent.
   */
  async renewLease(loadId: string, owner: string, leaseMs: number, lookupGraceMs: number): Promise<boolean> {
    const [, count] = await this.ds.query(
      `UPDATE sync_jobs SET lease_expires_at = clock_timestamp() + make_interval(secs => $3::float / 1000),
         lookup_after = greatest(lookup_after, clock_timestamp() + make_interval(secs => ($3::float + $4::float) / 1000)),
         updated_at = clock_timestamp()
       WHERE load_id = $1 AND lease_owner = $2 AND lease_expires_at > clock_timestamp()`, [loadId, owner, leaseMs, lookupGraceMs]);
    return Number(count) === 1;
  }

  /** Gives the job back untouched (shutdown, circuit open, lease running short). */
  async release(loadId: string, owner: string, delayMs = 0): Promise<void> {
    await this.ds.query(
      `UPDATE sync_jobs SET lease_owner = NULL, lease_expires_at = NULL,
         due_at = greatest(due_at, clock_timestamp() + make_interval(secs => $3::float / 1000)), updated_at = clock_timestamp()
       WHERE load_id = $1 AND lease_owner = $2`, [loadId, owner, delayMs]);
  }

  async recordAttempt(m: EntityManager, job: Pick<ClaimedJob, 'loadId' | 'requestId'>, a: AttemptRecord): Promise<void> {
    await this.recordAttempts(m, [{ ...job, attempt: a }]);
  }

  /** Attempts as load events, and each load's attempt counter, in one statement. */
  async recordAttempts(m: EntityManager, list: Array<{ loadId: string; requestId: string | null; attempt: AttemptRecord }>): Promise<void> {
    const col = <T>(f: (x: (typeof list)[number]) => T) => list.map(f);
    await m.query(
      `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[])
                  AS x(load_id, type, outcome, http_status, code, message, duration_ms, request_id)),
            ev AS (INSERT INTO load_events (load_id, type, outcome, http_status, code, message, duration_ms, actor, request_id)
                   SELECT load_id, type, outcome, http_status, code, message, duration_ms, 'sync-worker', request_id FROM x)
       UPDATE card_loads l SET attempts = l.attempts + n.count, updated_at = clock_timestamp()
       FROM (SELECT load_id, count(*)::int AS count FROM x GROUP BY load_id) n WHERE l.id = n.load_id`,
      [col((x) => x.loadId), col((x) => x.attempt.type), col((x) => x.attempt.outcome), col((x) => x.attempt.httpStatus),
        col((x) => x.attempt.code), col((x) => x.attempt.message?.slice(0, 1000) ?? null), col((x) => Math.round(x.attempt.durationMs)),
        col((x) => x.requestId)]);
  }

  /** Parks a job whose load went to review: nothing is due until an operator re-queues it. */
  async park(m: EntityManager, loadId: string): Promise<void> {
    await m.query(
      `UPDATE sync_jobs SET due_at = 'infinity', lease_owner = NULL, lease_expires_at = NULL, needs_lookup = true,
         updated_at = clock_timestamp() WHERE load_id = $1`, [loadId]);
  }

  async remove(m: EntityManager, loadId: string): Promise<void> {
    await m.query(`DELETE FROM sync_jobs WHERE load_id = $1`, [loadId]);
  }

  /** Operator re-queue: a fresh budget, lookup first (the reference may have been applied meanwhile). */
  async requeue(m: EntityManager, loadId: string): Promise<boolean> {
    const result = await m.query(
      `UPDATE sync_jobs SET due_at = clock_timestamp(), attempts = 0, budget_started_at = clock_timestamp(), needs_lookup = true,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = clock_timestamp() WHERE load_id = $1`, [loadId]);
    return Number(result[1]) === 1;
  }
}
