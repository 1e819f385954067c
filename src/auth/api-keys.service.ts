import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditActor, serviceActor } from '../audit-trail/audit-trail';
import { AuditTrail } from '../audit-trail/audit-trail.service';
import { notFound } from '../common/errors';
import { inTransaction } from '../database/transaction';
import { WebhookSubscriptionsStore } from '../webhooks/webhook-subscriptions.store';
import { ApiKeyRow, ApiKeysStore } from './api-keys.store';
import { Caller, Scope } from './scopes';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

/** A webhook subscription that hears nothing more once its key is revoked (webhook-outbox.ts matches live keys only). */
export interface SilencedSubscription {
  id: string;
  url: string;
}

export interface ApiKeyRevoked extends ApiKeyView {
  silencedWebhookSubscriptions: SilencedSubscription[];
  warnings: string[];
}

export const BOOTSTRAP_NAME = 'bootstrap-admin';

/** Keys are 32 random bytes; only their SHA-256 is stored (high-entropy secrets need no slow hash). */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function view(r: ApiKeyRow): ApiKeyView {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
  };
}

/**
 * Known keys are remembered for a few seconds so that a busy caller costs no key lookup per request.
 * A revocation takes effect at once on the instance that revoked and within AUTH_CACHE_MS on the others.
 */
export const AUTH_CACHE_MS = 5_000;
const AUTH_CACHE_MAX = 10_000;

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache = new LRUCache<string, Caller>({ max: AUTH_CACHE_MAX, ttl: AUTH_CACHE_MS });
  private readonly byRequest = new WeakMap<object, { key: string; caller: Promise<Caller | null> }>();

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly trail: AuditTrail,
    private readonly keys: ApiKeysStore,
    private readonly subscriptions: WebhookSubscriptionsStore,
  ) {}

  /**
   * authenticate(), once per request: the rate limit's bucket (http/security.ts) and the guard both need the caller,
   * and each asking again cost a SHA-256 of the key and a cache lookup per request. Keyed by the request object, so
   * the answer goes with it; a different key on the same request (never, in practice) is asked anew.
   */
  authenticateOnce(request: object, key: string): Promise<Caller | null> {
    const known = this.byRequest.get(request);
    if (known?.key === key) return known.caller;
    const caller = this.authenticate(key);
    this.byRequest.set(request, { key, caller });
    // A failed lookup (the database, not the key) is not kept: the next asker of this request tries again.
    caller.catch(() => {
      if (this.byRequest.get(request)?.caller === caller) this.byRequest.delete(request);
    });
    return caller;
  }

  async authenticate(key: string): Promise<Caller | null> {
    if (key.length < 16 || key.length > 200) return null;
    const hash = hashApiKey(key);
    const cacheKey = hash.toString('base64');
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;
    const row = await this.keys.findLiveByHash(hash);
    if (row === null) {
      this.cache.delete(cacheKey);
      return null;
    }
    const caller: Caller = { apiKeyId: row.id, name: row.name, scopes: row.scopes };
    this.cache.set(cacheKey, caller);
    return caller;
  }

  async create(name: string, scopes: Scope[], actor: AuditActor): Promise<ApiKeyView & { key: string }> {
    const key = `ckl_${randomBytes(32).toString('base64url')}`;
    const row = await inTransaction(this.ds, async (m) => {
      const created = await this.keys.insert(m, { name, prefix: key.slice(0, 8), hash: hashApiKey(key), scopes });
      await this.trail.record(m, { ...actor, action: 'api_key.created', subject: created.id, details: { name, scopes } });
      return created;
    });
    this.logger.log(`API key ${row.id} "${name}" created by ${actor.actor} with scopes ${scopes.join(',')}`);
    return { ...view(row), key };
  }

  async list(): Promise<ApiKeyView[]> {
    return (await this.keys.list()).map(view);
  }

  /**
   * Revocation always goes through (a leaked key must stop working whatever it owns), but its webhook subscriptions
   * stop hearing events with it: they are named in the answer, the log and the audit trail, so nobody learns of it
   * from a billing system that went quiet. Revoking a revoked key changes nothing and records nothing.
   */
  async revoke(id: string, actor: AuditActor): Promise<ApiKeyRevoked> {
    const { row, revokedNow, silenced } = await inTransaction(this.ds, async (m) => {
      const before = await this.keys.lock(m, id);
      if (!before) throw notFound(`api key ${id}`);
      const after = await this.keys.revoke(m, id);
      const subs: SilencedSubscription[] = await this.subscriptions.liveOfKey(m, id);
      if (before.revoked_at === null) {
        await this.trail.record(m, {
          ...actor,
          action: 'api_key.revoked',
          subject: id,
          details: {
            name: before.name,
            scopes: before.scopes,
            silencedWebhookSubscriptions: subs.map((x) => x.id),
          },
        });
      }
      return { row: after, revokedNow: before.revoked_at === null, silenced: subs };
    });
    this.cache.clear();
    const warnings =
      silenced.length === 0
        ? []
        : [
            `${silenced.length} webhook subscription(s) of this key hear no more events: ` +
              `${silenced.map((x) => `${x.id} (${x.url})`).join(', ')}; subscribe them again with a live key, or delete them`,
          ];
    if (revokedNow) {
      const said = `API key ${id} "${row.name}" revoked by ${actor.actor}`;
      if (warnings.length) this.logger.warn(`${said}: ${warnings[0]}`);
      else this.logger.log(said);
    }
    return { ...view(row), silencedWebhookSubscriptions: silenced, warnings };
  }

  /**
   * Makes ADMIN_API_KEY (or, when it is unset, a freshly generated key) the one live bootstrap key; earlier bootstrap
   * keys stop working. Their webhook subscriptions belong to the bootstrap identity, not to one key: they move to the
   * new key and keep delivering (a rotation that silenced billing's settlement events would be an outage nobody sees).
   * Returns the generated key, which the caller prints once.
   */
  async installBootstrapKey(configured: string | null): Promise<string | null> {
    const key = configured ?? `ckl_${randomBytes(32).toString('base64url')}`;
    const hash = hashApiKey(key);
    const done = await inTransaction(this.ds, async (m) => {
      await this.keys.lockBootstrap(m);
      const before = await this.keys.findByHash(m, hash);
      const revoked = await this.keys.revokeNamedExcept(m, BOOTSTRAP_NAME, hash);
      // A configured key's characters are never stored, not even a prefix (a short key would nearly leak).
      const id = await this.keys.upsertAdmin(m, BOOTSTRAP_NAME, configured ? '(ADMIN_API_KEY)' : key.slice(0, 8), hash);
      // Every live subscription made with any earlier bootstrap key, including one a rotation before this release silenced.
      const moved = await this.subscriptions.moveFromRevokedKeys(m, id, BOOTSTRAP_NAME);
      const facts = {
        keyId: id,
        generated: configured === null,
        previousKeyIds: revoked.map((r) => r.id),
        movedWebhookSubscriptions: moved.map((x) => x.id),
      };
      const actor = serviceActor('service');
      if (revoked.length > 0 || moved.length > 0) {
        await this.trail.record(m, { ...actor, action: 'api_key.rotated', subject: id, details: facts });
      } else if (!before || before.revoked_at !== null) {
        await this.trail.record(m, {
          ...actor,
          action: 'api_key.bootstrap_installed',
          subject: id,
          details: { ...facts, reenabled: before !== undefined },
        });
      }
      return { id, revoked, moved };
    });
    this.cache.clear();
    if (done.revoked.length > 0 || done.moved.length > 0) {
      const previous = done.revoked.map((r) => r.id).join(', ') || 'none live';
      this.logger.warn(
        `bootstrap admin key rotated: now ${done.id}; previous ${previous} revoked; ` +
          `${done.moved.length} webhook subscription(s) moved to the new key and keep delivering` +
          (done.moved.length ? ` (${done.moved.map((x) => `${x.id} ${x.url}`).join(', ')})` : ''),
      );
    }
    return configured ? null : key;
  }
}
