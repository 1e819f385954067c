import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per app instance (tests run several apps in one process). Series names are the ones
 * API.md promises: loads by status, sync attempts by outcome, sync lag, EnKash latency, circuit state, DB pool.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly syncAttempts = new Counter({
    name: 'card_ledger_sync_attempts_total',
    help: 'EnKash calls made by the sync worker, by call and outcome',
    labelNames: ['call', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly settlements = new Counter({
    name: 'card_ledger_settlements_total',
    help: 'Loads leaving pending, by final status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly enkashLatency = new Histogram({
    name: 'card_ledger_enkash_latency_seconds',
    help: 'EnKash call latency',
    labelNames: ['call'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** 0 closed, 1 half-open, 2 open. An alert on `> 0` catches a misconfigured or unreachable EnKash. */
  readonly circuitState = new Gauge({
    name: 'card_ledger_enkash_circuit_state',
    help: 'EnKash circuit breaker: 0 closed, 1 half-open, 2 open',
    registers: [this.registry],
  });

  readonly systemicFailures = new Counter({
    name: 'card_ledger_enkash_systemic_failures_total',
    help: 'EnKash failures that would hit every load (auth, config, encryption)',
    registers: [this.registry],
  });

  /** A write of a worker whose claim had been taken over (or whose load had left the outbox): refused, nothing changed. */
  readonly fencedWrites = new Counter({
    name: 'card_ledger_sync_fenced_writes_total',
    help: 'Sync worker writes refused because the claim no longer held the job',
    registers: [this.registry],
  });

  /** How long after we gave up on a send EnKash answered it: SYNC_LOOKUP_GRACE_MS must stay above the tail of this. */
  readonly lateAnswers = new Histogram({
    name: 'card_ledger_enkash_late_answer_seconds',
    help: 'Answers EnKash gave to loads after the worker had given up on them (timeout), by how late',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  /** A database that is not the one the ledger last ran on (a restore, a clone, a failover): docs/operations.md. */
  readonly databaseForks = new Counter({
    name: 'card_ledger_database_forks_total',
    help: 'Forks of the database handled by this process (every open load made lookup-first), by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** 1 while no load may be sent: a fork not yet handled, or held until an operator adopts it. Read from the database. */
  readonly sendsHeld = new Gauge({
    name: 'card_ledger_database_sends_held',
    help: '1 while sends to EnKash are held because the database is a fork of the ledger',
    registers: [this.registry],
  });

  /** Requests answered 503 because the database was unreachable, restarting or read-only (one warning per outage in the log). */
  readonly databaseUnavailable = new Counter({
    name: 'card_ledger_database_unavailable_answers_total',
    help: 'Requests answered 503 because the database could not serve them',
    registers: [this.registry],
  });

  readonly loadsByStatus = new Gauge({
    name: 'card_ledger_loads',
    help: 'Card loads by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly syncLag = new Gauge({
    name: 'card_ledger_sync_lag_seconds',
    help: 'Age of the oldest load still waiting to be settled',
    registers: [this.registry],
  });

  readonly dbPool = new Gauge({
    name: 'card_ledger_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  /** The latest complete verification (docs/audit.md): alert on ok == 0, and on its age. */
  readonly auditVerifyOk = new Gauge({
    name: 'card_ledger_audit_verify_ok',
    help: 'Latest ledger verification: 1 ok, 0 findings (absent: none ran yet)',
    registers: [this.registry],
  });

  readonly auditVerifyFindings = new Gauge({
    name: 'card_ledger_audit_verify_findings',
    help: 'Findings of the latest ledger verification',
    registers: [this.registry],
  });

  readonly auditVerifyFinished = new Gauge({
    name: 'card_ledger_audit_verify_last_run_timestamp_seconds',
    help: 'When the latest ledger verification finished (Unix time)',
    registers: [this.registry],
  });

  readonly auditVerifyDuration = new Gauge({
    name: 'card_ledger_audit_verify_duration_seconds',
    help: 'How long the latest ledger verification took',
    registers: [this.registry],
  });

  readonly auditUnsealed = new Gauge({
    name: 'card_ledger_audit_unsealed_transactions',
    help: 'Journal transactions waiting for the sealer',
    registers: [this.registry],
  });

  readonly auditCheckpointSeq = new Gauge({
    name: 'card_ledger_audit_checkpoint_seq',
    help: 'Seal number of the newest signed checkpoint',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
