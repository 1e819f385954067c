import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { Caller } from '../auth/scopes';
import { assert } from '../common/assert';
import type { AuditKeys } from '../ledger/audit-keys';

/**
 * The audit trail of admin actions (docs/audit-trail.md). Every action that changes who may do what, where events
 * go, or how a load was decided leaves one row, written in the transaction of the action itself: the row exists
 * exactly when the action committed.
 */
export const AUDIT_ACTIONS = [
  'api_key.created',
  'api_key.revoked',
  'api_key.rotated',
  'api_key.bootstrap_installed',
  'webhook.subscribed',
  'webhook.secret_rotated',
  'webhook.deleted',
  'card_load.resolved',
  'card_load.requeued',
  'card_load.undone',
  'reconciliation.run',
  'database.fork_detected',
  'database.fork_adopted',
  'service.started',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted, and in which request (null outside a request: the CLI, the service itself). */
export interface AuditActor {
  actor: string;
  apiKeyId: string | null;
  requestId: string | null;
}

/** Only what JSON and jsonb carry alike, so a row read back hashes as it was written (no floats, no bigints). */
export type AuditValue = string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue };

export interface AuditEventInput extends AuditActor {
  action: AuditAction;
  subject: string | null;
  details: Record<string, AuditValue>;
}

export const actorOfCaller = (caller: Caller, requestId: string | null): AuditActor => ({
  actor: caller.name,
  apiKeyId: caller.apiKeyId,
  requestId,
});

/** The service acting on its own (a start, the worker, a scheduled run). */
export const serviceActor = (name: string): AuditActor => ({ actor: name, apiKeyId: null, requestId: null });

/**
 * The operator CLI, with the account it runs under (the closest thing to "who" a shell gives). Its events carry the
 * audit key's MAC only when it holds the key (AUDIT_SEAL_KEY at its start: `keyed`): without it, it says so on
 * stderr, since the verifier will name the event as written without the key.
 */
export function cliActor(keyed: boolean): AuditActor {
  // Not with --json: stderr then holds the one JSON error document scripts parse.
  if (!keyed && !process.argv.includes('--json')) {
    process.stderr.write(
      'warning: AUDIT_SEAL_KEY is not set: the audit event of this action carries no MAC and the verifier will ' +
        'report it; run the CLI where the service runs (docker compose exec api ...) or with AUDIT_SEAL_KEY\n',
    );
  }
  let user = 'unknown user';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for the uid (a container): the CLI still acts, as an unknown user.
  }
  return { actor: `cli (${user})`, apiKeyId: null, requestId: null };
}

/** A stored row, as the verifier and the API read it. */
export interface AuditEventRow {
  seq: string;
  at: Date;
  actor: string;
  api_key_id: string | null;
  action: string;
  subject: string | null;
  request_id: string | null;
  details: Record<string, AuditValue>;
  prev_hash: Buffer;
  hash: Buffer;
  mac: Buffer | null;
}

export const GENESIS_AUDIT_HASH = Buffer.alloc(32);

/**
 * The hashed form of a row: RFC 8785 canonical JSON (sorted keys, no spaces), so an auditor can recompute it in any
 * language. `at` is the millisecond instant the row stores.
 */
export type AuditContent = Pick<AuditEventRow, 'seq' | 'at' | 'actor' | 'api_key_id' | 'action' | 'subject' | 'request_id' | 'details'>;

/** The fields that are hashed, as GET /v1/audit/events shows them: an auditor hashes exactly what the API answers. */
export function auditFields(r: AuditContent) {
  return {
    seq: Number(r.seq),
    at: r.at.toISOString(),
    actor: r.actor,
    apiKeyId: r.api_key_id,
    action: r.action,
    subject: r.subject,
    requestId: r.request_id,
    details: r.details,
  };
}

export function auditContent(r: AuditContent): string {
  const text = canonicalize(auditFields(r));
  assert(text !== undefined, 'an audit row has a canonical form');
  return text;
}

export function auditHash(prev: Buffer, content: string): Buffer {
  return createHash('sha256').update(prev).update(content, 'utf8').digest();
}

/** Details carry only safe integers (AuditValue says why); checked before the chain head is locked. */
export const checkAuditDetails = (details: Record<string, AuditValue>): void => checkValue(details, 'details');

function checkValue(v: AuditValue, path: string): void {
  if (typeof v === 'number') assert(Number.isSafeInteger(v), `audit detail ${path} is a safe integer`);
  else if (Array.isArray(v)) v.forEach((x, i) => checkValue(x, `${path}.${i}`));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkValue(x, `${path}.${k}`);
}

/** The event's row, continuing `head` (the locked chain head: AuditEventsStore.lockHead), with the MAC when `keys` is given. */
export function auditEventRow(head: { seq: string; hash: Buffer; at: Date }, e: AuditEventInput, keys: AuditKeys | null): AuditEventRow {
  const row = {
    seq: String(BigInt(head.seq) + 1n),
    at: head.at,
    actor: e.actor.slice(0, 200),
    api_key_id: e.apiKeyId,
    action: e.action,
    subject: e.subject?.slice(0, 200) ?? null,
    request_id: e.requestId?.slice(0, 100) ?? null,
    details: e.details,
  };
  const hash = auditHash(head.hash, auditContent(row));
  return { ...row, prev_hash: head.hash, hash, mac: keys?.eventMac(BigInt(row.seq), hash) ?? null };
}

/** What a start tells the trail about this process: the settings that decide where money goes, never a secret. */
export interface ServiceStartFacts {
  role: string;
  /** `host[:port]` of ENKASH_BASE_URL, or `in-process simulator`. */
  enkash: string;
  encryption: 'on' | 'off';
  database: string;
  forkPolicy: string;
  host: string;
  pid: number;
}

export const serviceStarted = (facts: ServiceStartFacts): AuditEventInput => ({
  ...serviceActor('service'),
  action: 'service.started',
  subject: null,
  details: { ...facts },
});
