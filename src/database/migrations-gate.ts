import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyRequest } from 'fastify';
import { DataSource } from 'typeorm';
import { ApiError } from '../common/errors';
import { MIGRATIONS } from './migrations';
import { pgCode } from './transaction';

/** How long a "no migration pending" answer is trusted: writes cost no extra query in between. */
const FRESH_MS = 1000;
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Writes are refused (503) while this build's migrations are not all applied to the database (a restore of an older
 * dump, a migration still running or failed): what they would write may not fit the schema the code expects, and
 * readiness already says "migrations: pending". Reads go on. The answer is cached for FRESH_MS, so a busy intake
 * asks the database about once a second.
 *
 * A guard, not an interceptor: any interceptor puts every request of every route through Nest's RxJS pipeline and
 * two AsyncResource bindings (about 7 % of the API process's CPU at intake, bench/RESULTS.md "twelfth step").
 */
@Injectable()
export class MigrationsGate implements CanActivate {
  private checked: { atMs: number; pending: Promise<number> } | null = null;

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (READS.has(ctx.switchToHttp().getRequest<FastifyRequest>().method)) return true;
    const pending = await this.pending();
    if (pending > 0) {
      throw new ApiError(
        'service_unavailable',
        `${pending} database migration(s) of this release are not applied yet: ` +
          'writes are refused until they are (reads go on); retry shortly',
        undefined,
        { 'Retry-After': '5' },
      );
    }
    return true;
  }

  private pending(): Promise<number> {
    const now = Date.now();
    if (this.checked && now - this.checked.atMs < FRESH_MS) return this.checked.pending;
    const pending = this.count();
    this.checked = { atMs: now, pending };
    // A failed check is not remembered: the next write asks again (and this one is answered by the failure).
    pending.catch(() => {
      if (this.checked?.pending === pending) this.checked = null;
    });
    return pending;
  }

  private async count(): Promise<number> {
    try {
      const rows: Array<{ name: string }> = await this.ds.query(`SELECT name FROM migrations`);
      const done = new Set(rows.map((r) => r.name));
      return MIGRATIONS.filter((m) => !done.has(m.name)).length;
    } catch (e) {
      if (pgCode(e) === '42P01') return MIGRATIONS.length; // no migrations table: nothing applied
      throw e;
    }
  }
}
