import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Bucket bounds, in seconds, of card_ledger_enkash_latency_seconds and card_ledger_enkash_late_answer_seconds. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LATE_ANSWER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * One registry per app instance (tests run several apps in one process). Series names are the ones
 * API.md promises: loads by status, sync attempts by outcome, sync lag, EnKash latency, circuit state, DB pool.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly syncAttempts = this.counter(
    'card_ledger_sync_attempts_total',
    'EnKash calls made by the sync worker, by call and outcome',
    'call',
    'outcome',
  );

  readonly settlements = this.counter('card_ledger_settlements_total', 'Loads leaving pending, by final status', 'status');

  readonly enkashLatency = this.histogram('card_ledger_enkash_latency_seconds', 'EnKash call latency', LATENCY_BUCKETS, 'call');

  /** 0 closed, 1 half-open, 2 open. An alert on `> 0` catches a misconfigured or unreachable EnKash. */
  readonly circuitState = this.gauge('card_ledger_enkash_circuit_state', 'EnKash circuit breaker: 0 closed, 1 half-open, 2 open');

  readonly systemicFailures = this.counter(
    'card_ledger_enkash_systemic_failures_total',
    'EnKash failures that would hit every load (auth, config, encryption)',
  );

  /** A write of a worker whose claim had been taken over (or whose load had left the outbox): refused, nothing changed. */
  readonly fencedWrites = this.counter(
    'card_ledger_sync_fenced_writes_total',
    'Sync worker writes refused because the claim no longer held the job',
  );

  /** How long after we gave up on a send EnKash answered it: SYNC_LOOKUP_GRACE_MS must stay above the tail of this. */
  readonly lateAnswers = this.histogram(
    'card_ledger_enkash_late_answer_seconds',
    'Answers EnKash gave to loads after the worker had given up on them (timeout), by how late',
    LATE_ANSWER_BUCKETS,
  );

  /** A database that is not the one the ledger last ran on (a restore, a clone, a failover): docs/operations.md. */
  readonly databaseForks = this.counter(
    'card_ledger_database_forks_total',
    'Forks of the database handled by this process (every open load made lookup-first), by kind',
    'kind',
  );

  /** 1 while no load may be sent: a fork not yet handled, or held until an operator adopts it. Read from the database. */
  readonly sendsHeld = this.gauge(
    'card_ledger_database_sends_held',
    '1 while sends to EnKash are held because the database is a fork of the ledger',
  );

  /** Requests answered 503 because the database was unreachable, restarting or read-only (one warning per outage in the log). */
  readonly databaseUnavailable = this.counter(
    'card_ledger_database_unavailable_answers_total',
    'Requests answered 503 because the database could not serve them',
  );

  readonly loadsByStatus = this.gauge('card_ledger_loads', 'Card loads by status', 'status');

  readonly syncLag = this.gauge('card_ledger_sync_lag_seconds', 'Age of the oldest load still waiting to be settled');

  readonly dbPool = this.gauge('card_ledger_db_pool_connections', 'Database pool connections by state', 'state');

  /** The latest complete verification (docs/audit.md): alert on ok == 0, and on its age. */
  readonly auditVerifyOk = this.gauge('card_ledger_audit_verify_ok', 'Latest ledger verification: 1 ok, 0 findings (absent: none ran yet)');

  readonly auditVerifyFindings = this.gauge('card_ledger_audit_verify_findings', 'Findings of the latest ledger verification');

  readonly auditVerifyFinished = this.gauge(
    'card_ledger_audit_verify_last_run_timestamp_seconds',
    'When the latest ledger verification finished (Unix time)',
  );

  readonly auditVerifyDuration = this.gauge('card_ledger_audit_verify_duration_seconds', 'How long the latest ledger verification took');

  readonly auditUnsealed = this.gauge('card_ledger_audit_unsealed_transactions', 'Journal transactions waiting for the sealer');

  readonly auditCheckpointSeq = this.gauge('card_ledger_audit_checkpoint_seq', 'Seal number of the newest signed checkpoint');

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A counter in this instance's registry (features with series of their own make theirs here too). */
  counter<L extends string>(name: string, help: string, ...labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, ...labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, buckets: number[], ...labelNames: L[]): Histogram<L> {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }
}
