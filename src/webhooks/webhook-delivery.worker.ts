import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { backoffMs } from '../sync/sync.decisions';
import { WEBHOOK_CONFIG, WebhookConfig } from './webhook-config';
import { ClaimedDelivery, WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookSecretBox, WebhookSecretUnavailableError } from './webhook-secret-box';
import { AttemptResult, WebhookSender } from './webhook-sender';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature';
import { OutageLog } from '../database/outage-log';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers the webhook outbox, where the sync worker runs (ROLE all or worker), with its own pool of
 * WEBHOOK_CONCURRENCY slots and its own timeout: a receiver that hangs costs delivery slots, never settlement.
 * Same shape as SyncWorker: claims with SKIP LOCKED under a lease in DB time; no DB transaction is open
 * during an HTTP call. At least once: a receiver deduplicates on Card-Ledger-Event-Id.
 */
@Injectable()
export class WebhookDeliveryWorker {
  private readonly logger = new Logger(WebhookDeliveryWorker.name);
  /** A database outage is logged once, with a count when it ends (database/outage-log.ts). */
  private readonly claims = new OutageLog(this.logger, 'claiming webhook deliveries');
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly attempts: Counter<'status'>;

  constructor(
    @Inject(WEBHOOK_CONFIG) private readonly config: WebhookConfig,
    private readonly store: WebhookDeliveriesStore,
    private readonly sender: WebhookSender,
    private readonly box: WebhookSecretBox,
    metrics: MetricsService,
  ) {
    this.attempts = metrics.counter('card_ledger_webhook_attempts_total', 'Webhook delivery attempts, by result', 'status');
  }

  /** Started and stopped by the worker composition (worker/worker.module.ts), before the pool closes. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stop claiming and let in-flight attempts finish (each bounded by the timeout); leases cover the rest. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise((r) => (timer = setTimeout(r, this.config.timeoutMs + 1000)));
    await Promise.race([Promise.allSettled([...this.inflight]), deadline]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const { concurrency, pollMs, leaseMs } = this.config;
    while (this.running) {
      const free = concurrency - this.inflight.size;
      if (free <= 0) {
        await Promise.race([...this.inflight, sleep(pollMs)]);
        continue;
      }
      let claimed: ClaimedDelivery[];
      try {
        claimed = await this.store.claim(this.owner, free, leaseMs);
        this.claims.recovered();
      } catch (e) {
        this.claims.failed(e, 'retrying every second');
        await sleep(Math.min(1000, pollMs * 5));
        continue;
      }
      for (const d of claimed) {
        const p: Promise<void> = this.deliver(d)
          .catch((e: unknown) => this.logger.error(`webhook delivery ${d.id}: ${e instanceof Error ? e.message : String(e)}`))
          .finally(() => this.inflight.delete(p));
        this.inflight.add(p);
      }
      if (claimed.length === 0) await sleep(pollMs);
    }
  }

  async deliver(d: ClaimedDelivery): Promise<void> {
    // Never start an attempt that could outlive the lease: another instance could send the event meanwhile.
    if (this.config.leaseMs - (performance.now() - d.claimedAtMono) < this.config.timeoutMs + 1000) {
      return this.store.release(d.id, this.owner);
    }
    const result = await this.attempt(d);
    this.attempts.inc({ status: result.status });
    const delayMs = backoffMs(d.attempts, this.config.backoffBaseMs, this.config.backoffCapMs);
    const status = await this.store.finish(d, this.owner, result, delayMs, this.config.maxAgeMs);
    const what = `${d.event}${d.loadId ? `, load ${d.loadId}` : ''}`;
    if (status === 'failed') this.logger.warn(`webhook delivery ${d.id} (${what}) failed for good: ${result.error}`);
  }

  private async attempt(d: ClaimedDelivery): Promise<AttemptResult> {
    let secret: string;
    try {
      secret = this.box.open(d.subscriptionId, d.secretCiphertext, d.secretKeyId);
    } catch (e) {
      // Nothing is sent unsigned; retried, since an operator may put the right WEBHOOK_SECRET_KEY back.
      if (!(e instanceof WebhookSecretUnavailableError)) throw e;
      return { status: 'not_sent', httpStatus: null, durationMs: 0, error: e.message };
    }
    const body = JSON.stringify({ id: d.id, type: d.event, createdAt: d.createdAt.toISOString(), data: d.data });
    return this.sender.post(d.url, body, {
      [SIGNATURE_HEADER]: signWebhook([secret, ...this.previousSecret(d)], body, Math.floor(Date.now() / 1000)),
      [EVENT_ID_HEADER]: d.id,
      [EVENT_TYPE_HEADER]: d.event,
    });
  }

  /**
   * The secret a rotation replaced, if it still opens. It is a courtesy to receivers mid-switch, so one that does
   * not open (e.g. sealed under an earlier WEBHOOK_SECRET_KEY, the very case a rotation repairs) never holds up
   * a delivery: the current secret alone signs, as it will once the old one expires.
   */
  private previousSecret(d: ClaimedDelivery): string[] {
    if (!d.previousSecret) return [];
    try {
      return [this.box.open(d.subscriptionId, d.previousSecret.ciphertext, d.previousSecret.keyId)];
    } catch (e) {
      if (!(e instanceof WebhookSecretUnavailableError)) throw e;
      return [];
    }
  }
}
