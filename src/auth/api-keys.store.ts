import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Scope } from './scopes';

export type ApiKeyRow = { id: string; name: string; prefix: string; scopes: Scope[]; created_at: Date; revoked_at: Date | null };

/** Serialises bootstrap-key installs across instances starting together (a transaction-scoped advisory lock). */
const BOOTSTRAP_LOCK_KEY = 7310412003;

/** api_keys: keys by their SHA-256 (never the key itself), their scopes and revocation. */
@Injectable()
export class ApiKeysStore {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async findLiveByHash(hash: Buffer): Promise<ApiKeyRow | null> {
    const rows: ApiKeyRow[] = await this.ds.query(
      `SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    return rows[0] ?? null;
  }

  async insert(m: EntityManager, k: { name: string; prefix: string; hash: Buffer; scopes: Scope[] }): Promise<ApiKeyRow> {
    const rows: ApiKeyRow[] = await m.query(`INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4) RETURNING *`, [
      k.name,
      k.prefix,
      k.hash,
      k.scopes,
    ]);
    return rows[0];
  }

  async list(): Promise<ApiKeyRow[]> {
    return this.ds.query(`SELECT * FROM api_keys ORDER BY created_at, id`);
  }

  async lock(m: EntityManager, id: string): Promise<ApiKeyRow | undefined> {
    const [row]: ApiKeyRow[] = await m.query(`SELECT * FROM api_keys WHERE id = $1 FOR UPDATE`, [id]);
    return row;
  }

  /** Revokes the key (its first revocation time stays); returns the row after. */
  async revoke(m: EntityManager, id: string): Promise<ApiKeyRow> {
    const [rows]: [ApiKeyRow[], number] = await m.query(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE id = $1 RETURNING *`,
      [id],
    );
    return rows[0];
  }

  /** Until the transaction ends, no other instance installs a bootstrap key. */
  async lockBootstrap(m: EntityManager): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
  }

  async findByHash(m: EntityManager, hash: Buffer): Promise<{ id: string; revoked_at: Date | null } | undefined> {
    const [row]: Array<{ id: string; revoked_at: Date | null }> = await m.query(`SELECT id, revoked_at FROM api_keys WHERE key_hash = $1`, [
      hash,
    ]);
    return row;
  }

  /** Revokes every live key named `name` but the one with this hash; returns the ids revoked. */
  async revokeNamedExcept(m: EntityManager, name: string, hash: Buffer): Promise<Array<{ id: string }>> {
    const [revoked]: [Array<{ id: string }>, number] = await m.query(
      `UPDATE api_keys SET revoked_at = clock_timestamp() WHERE name = $1 AND revoked_at IS NULL AND key_hash <> $2 RETURNING id`,
      [name, hash],
    );
    return revoked;
  }

  /** The admin key with this hash, live and admin, whether it existed (revoked or not) or not; returns its id. */
  async upsertAdmin(m: EntityManager, name: string, prefix: string, hash: Buffer): Promise<string> {
    const [{ id }]: Array<{ id: string }> = await m.query(
      `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, '{admin}')
       ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL, scopes = '{admin}' RETURNING id`,
      [name, prefix, hash],
    );
    return id;
  }

  /**
   * Holds the key's row against changes to its webhook subscriptions until the transaction ends, so a cap on them holds
   * under concurrency (NO KEY UPDATE: intake's foreign-key checks on the key go on).
   */
  async holdForSubscriptions(m: EntityManager, id: string): Promise<void> {
    await m.query(`SELECT 1 FROM api_keys WHERE id = $1 FOR NO KEY UPDATE`, [id]);
  }
}
