import { WebhookEvent } from './webhook-events';
import { DeliveryStatus } from './webhook.dto';
import { AttemptStatus } from './webhook-sender';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export type SubscriptionRow = {
  id: string;
  api_key_id: string;
  url: string;
  events: WebhookEvent[];
  all_loads: boolean;
  created_at: Date;
  deleted_at: Date | null;
  created_at_cursor?: string;
};

/** A subscription as callers see it: never the secret, not even encrypted. */
export function subscriptionView(r: SubscriptionRow) {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    apiKeyId: r.api_key_id,
    /** true: every load (an admin key's subscription); false: the loads this key created. */
    allLoads: r.all_loads,
    createdAt: iso(r.created_at)!,
    deletedAt: iso(r.deleted_at),
  };
}

export type DeliveryRow = {
  id: string;
  seq: string;
  load_id: string | null;
  event: WebhookEvent;
  status: DeliveryStatus;
  due_at: Date;
  last_http_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
};

export type AttemptRow = {
  delivery_id: string;
  at: Date;
  status: AttemptStatus;
  http_status: number | null;
  duration_ms: number;
  error: string | null;
};

export function attemptView(a: AttemptRow) {
  return { at: a.at.toISOString(), status: a.status, httpStatus: a.http_status, durationMs: a.duration_ms, error: a.error };
}

export function deliveryView(d: DeliveryRow, attempts: AttemptRow[]) {
  return {
    id: d.id,
    type: d.event,
    loadId: d.load_id,
    status: d.status,
    createdAt: iso(d.created_at)!,
    nextAttemptAt: d.status === 'pending' ? iso(d.due_at) : null,
    deliveredAt: iso(d.delivered_at),
    failedAt: iso(d.failed_at),
    lastHttpStatus: d.last_http_status,
    lastError: d.last_error,
    attempts: attempts.map(attemptView),
  };
}
