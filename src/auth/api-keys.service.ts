import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { notFound } from '../common/errors';
import { Caller, Scope } from './scopes';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

type Row = { id: string; name: string; prefix: string; scopes: Scope[]; created_at: Date; revoked_at: Date | null };

const BOOTSTRAP_NAME = 'bootstrap-admin';

/** Keys are 32 random bytes; only their SHA-256 is stored (high-entropy secrets need no slow hash). */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function view(r: Row): ApiKeyView {
  return {
    id: r.id, name: r.name, prefix: r.prefix, scopes: r.scopes, createdAt: r.created_at.toISOString(),
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
  private readonly cache = new Map<string, { caller: Caller; expiresAtMs: number }>();

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async authenticate(key: string): Promise<Caller | null> {
    if (key.length < 16 || key.length > 200) return null;
    const hash = hashApiKey(key);
    const cacheKey = hash.toString('base64');
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expiresAtMs > Date.now()) return hit.caller;
    const rows: Row[] = await this.ds.query(
      `SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hash]);
    if (rows.length === 0) {
      this.cache.delete(cacheKey);
      return null;
    }
    const caller: Caller = { apiKeyId: rows[0].id, name: rows[0].name, scopes: rows[0].scopes };
    if (this.cache.size >= AUTH_CACHE_MAX) this.cache.clear();
    this.cache.set(cacheKey, { caller, expiresAtMs: Date.now() + AUTH_CACHE_MS });
    return caller;
  }

  async create(name: string, scopes: Scope[]): Promise<ApiKeyView & { key: string }> {
    const key = `ckl_${randomBytes(32).toString('base64url')}`;
    const rows: Row[] = await this.ds.query(
      `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4) RETURNING *`,
      [name, key.slice(0, 8), hashApiKey(key), scopes]);
    return { ...view(rows[0]), key };
  }

  async list(): Promise<ApiKeyView[]> {
    const rows: Row[] = await this.ds.query(`SELECT * FROM api_keys ORDER BY created_at, id`);
    return rows.map(view);
  }

  async revoke(id: string): Promise<ApiKeyView> {
    const result = await this.ds.query(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE id = $1 RETURNING *`, [id]);
    const rows = result[0] as Row[];
    if (!rows.length) throw notFound(`api key ${id}`);
    this.cache.clear();
    return view(rows[0]);
  }

  /**
   * Makes ADMIN_API_KEY (or, when it is unset, a freshly generated key) the one live bootstrap key;
   * earlier bootstrap keys stop working. Returns the generated key, which the caller prints once.
   */
  async installBootstrapKey(configured: string | null): Promise<string | null> {
    const key = configured ?? `ckl_${randomBytes(32).toString('base64url')}`;
    const hash = hashApiKey(key);
    await this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(7310412003)`);
      await m.query(`UPDATE api_keys SET revoked_at = clock_timestamp() WHERE name = $1 AND revoked_at IS NULL AND key_hash <> $2`,
        [BOOTSTRAP_NAME, hash]);
      await m.query(
        `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, '{admin}')
         ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL, scopes = '{admin}'`,
        // A configured key's characters are never stored, not even a prefix (a short key would nearly leak).
        [BOOTSTRAP_NAME, configured ? '(ADMIN_API_KEY)' : key.slice(0, 8), hash]);
    });
    this.cache.clear();
    return configured ? null : key;
  }
}
