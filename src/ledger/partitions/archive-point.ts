import { Injectable } from '@nestjs/common';
import { ApiError } from '../../common/errors';
import { Instant, msIso } from '../../common/instant';
import { PartitionsStore } from './partitions.store';

/** How long an instance trusts the archive point it read; the archive waits longer than this before detaching. */
export const ARCHIVE_POINT_TTL_MS = 1000;

/**
 * The archive point as the readers see it (docs/operations.md, "Partitions and archive"): a read of a moment or a
 * range before it is answered 410 `range_archived`, never from the rows that are left; reads after it take each
 * account's carried row where its live history starts later. Cached for ARCHIVE_POINT_TTL_MS, so a read costs no
 * query in between.
 */
@Injectable()
export class ArchivePoint {
  private cached: { atMs: number; point: Promise<Date | null> } | null = null;

  constructor(private readonly partitions: PartitionsStore) {}

  async get(): Promise<Date | null> {
    const now = performance.now();
    if (!this.cached || now - this.cached.atMs > ARCHIVE_POINT_TTL_MS) {
      const point = this.partitions.archivedBefore();
      this.cached = { atMs: now, point };
      point.catch(() => (this.cached = null));
    }
    return this.cached.point;
  }

  /** Refuses a read whose moments all lie before the archive point (`last` is the latest moment it describes). */
  async refuseBefore(last: Instant, field: string): Promise<void> {
    const point = await this.get();
    if (point !== null && last.ms < point.getTime()) {
      throw new ApiError(
        'range_archived',
        `${field} ${msIso(last)} is before ${point.toISOString()}: the journal and balance history before that moment are ` +
          'archived (docs/operations.md, "Partitions and archive"); ask for a later moment, or read the archive',
      );
    }
  }
}
