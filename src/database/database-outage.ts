import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/errors';
import { MetricsService } from '../metrics/metrics.service';
import { OutageLog } from './outage-log';
import { pgCode } from './transaction';

/**
 * SQLSTATEs of a database that cannot serve right now, as opposed to a statement that is wrong: the connection
 * failed or was cut (class 08), the server is shutting down, crashed or starting (57P01-57P03), it is read-only (25006:
 * a failover's old primary, default_transaction_read_only), or out of connections (53300).
 */
const UNAVAILABLE_CODES = /^(08...|57P0[123]|25006|53300)$/;
/** Node's socket errors on the way to the server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** node-postgres and pg-pool say these without a code (node_modules/pg/lib/client.js, pg-pool/index.js). */
const UNAVAILABLE_MESSAGES = new RegExp(
  '^(Connection terminated|timeout exceeded when trying to connect' +
    '|Client has encountered a connection error|timeout expired|Query read timeout)',
);

/** True when `e` says the database could not serve (down, restarting, cut off, read-only), never for a wrong statement. */
export function isDatabaseUnavailable(e: unknown): boolean {
  // A socket error of an HTTP client (EnKash, a webhook receiver) is not the database's.
  if ((e as { isAxiosError?: unknown } | null)?.isAxiosError === true) return false;
  const code = pgCode(e);
  if (code !== undefined && (UNAVAILABLE_CODES.test(code) || SOCKET_CODES.has(code))) return true;
  const err = e as { message?: unknown; driverError?: { message?: unknown } } | null;
  const message = err?.driverError?.message ?? err?.message;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

/** Seconds a client should wait before retrying a request refused by an outage: a restart or failover takes a few. */
export const OUTAGE_RETRY_AFTER_S = 2;

export const databaseUnavailable = (what: string): ApiError =>
  new ApiError(
    'service_unavailable',
    `${what}: retry in a few seconds (a load retried with the same Idempotency-Key is never created twice)`,
    undefined,
    { 'Retry-After': String(OUTAGE_RETRY_AFTER_S) },
  );

/** Answers refused for an outage: the request log writes them at info, the outage itself is logged once. */
const OUTAGE_ANSWERS = new WeakSet<object>();
export const markOutageAnswer = (res: object): void => void OUTAGE_ANSWERS.add(res);
export const isOutageAnswer = (res: object): boolean => OUTAGE_ANSWERS.has(res);

const PROBE_MS = 1000;

/**
 * One outage, one warning: the first request the database fails is logged (what failed), the others are only
 * counted, and once a probe gets through again one more warning says how long it lasted and how many requests
 * were answered 503 (card_ledger_database_unavailable_answers_total counts them too). No stack: an outage is a state
 * of a dependency, not a bug here.
 */
@Injectable()
export class DatabaseOutage implements OnApplicationShutdown {
  private readonly log = new OutageLog(new Logger('database'), 'the database');
  private probe: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly metrics: MetricsService,
  ) {}

  /** Turns a request's database failure into the 503 it is answered with; null when `e` is not an outage. */
  refuse(e: unknown): ApiError | null {
    if (!isDatabaseUnavailable(e)) return null;
    this.metrics.databaseUnavailable.inc();
    if (this.log.failed(e, 'requests are answered 503 service_unavailable with Retry-After until it is back')) {
      this.probe = setInterval(() => void this.tryProbe(), PROBE_MS);
      this.probe.unref();
    }
    return databaseUnavailable(
      pgCode(e) === '25006'
        ? 'the database is read-only (a failover or maintenance is in progress)'
        : 'the database is unreachable or restarting',
    );
  }

  private async tryProbe(): Promise<void> {
    try {
      // A read-only database (a failover's old primary) answers reads and is still down for writes.
      const [{ ro }]: Array<{ ro: string }> = await this.ds.query(`SELECT current_setting('transaction_read_only') AS ro`);
      if (ro === 'on') return;
    } catch {
      return;
    }
    this.stopProbe();
    this.log.recovered();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  onApplicationShutdown(): void {
    this.stopProbe();
  }
}
