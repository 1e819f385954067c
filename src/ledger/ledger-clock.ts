import { Inject, Injectable, Optional } from '@nestjs/common';
import { ApiError } from '../common/errors';
import { Instant, instantOf, msIso, parseInstant, previousMicro } from '../common/instant';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { JournalStore } from './journal.store';
import { ArchivePoint } from './partitions/archive-point';

/** Each database call waits at most this long in Postgres (a connection is held), then the loop here goes on. */
const CALL_WAIT_MS = 100;

/**
 * The stable past (docs/time.md): a read as of T answers only once nothing that could still commit with a
 * time at or before T is in flight. Every ledger transaction takes its xid before it reads its moment
 * (ledger_moment), so the oldest in-flight transaction's start is a watermark: rows with a time before it are
 * final. A read waits (bounded by LEDGER_FINAL_WAIT_MS) for the watermark to pass its moment, else answers 503.
 */
@Injectable()
export class LedgerClock {
  /** Every row with a time before this (ms since the epoch) is final: the highest watermark seen (it never falls). */
  private finalBeforeMs = 0;
  private readonly waitMs: number;

  constructor(
    private readonly journal: JournalStore,
    private readonly archive: ArchivePoint,
    @Optional() @Inject(APP_CONFIG) config?: AppConfig,
  ) {
    this.waitMs = config?.audit.finalWaitMs ?? 5000;
  }

  /**
   * The moment a read describes, once final: `asOf` itself, or now (millisecond precision, the database's clock)
   * when it is null or further ahead than the wait. Everything with a time at or before it is then final.
   */
  async finalCut(asOf: Instant | null, field: string | null = 'asOf'): Promise<Instant> {
    // Before the archive point the live tables no longer hold the answer: 410, never a partial one.
    if (asOf && field !== null) await this.archive.refuseBefore(asOf, field);
    if (asOf && asOf.ms < this.finalBeforeMs) return asOf;
    const deadline = performance.now() + this.waitMs;
    for (;;) {
      const remaining = Math.max(0, Math.ceil(deadline - performance.now()));
      const r = await this.journal.awaitFinal(asOf?.iso ?? null, Math.min(remaining, CALL_WAIT_MS), this.waitMs);
      const cut = r.cut === asOf?.iso ? asOf : parseInstant('cut', r.cut)!;
      if (cut.ms < r.watermark_ms) {
        this.finalBeforeMs = Math.max(this.finalBeforeMs, r.watermark_ms);
        return cut;
      }
      if (remaining === 0) {
        const since = Number.isFinite(r.watermark_ms) ? ` (one started at ${msIso(instantOf(r.watermark_ms))})` : '';
        throw new ApiError(
          'service_unavailable',
          `the ledger at ${msIso(cut)} is not final yet: a transaction that may still commit at or before it is in flight${since}; retry`,
          undefined,
          { 'retry-after': '1' },
        );
      }
    }
  }

  /** The archive point (archive-point.ts): nothing before it is in the live journal; null when nothing is archived. */
  archivePoint(): Promise<Date | null> {
    return this.archive.get();
  }

  /** A range's `from` before the archive point: 410, since the rows before the point are archived. */
  async notArchived(from: Instant | null, field = 'from'): Promise<void> {
    if (from) await this.archive.refuseBefore(from, field);
  }

  /**
   * For a range read `[from, to)`: waits until every row before `to` is final. `journal` false for a read of tables
   * that are never archived (card loads), which the archive point does not concern.
   */
  async finalBefore(to: Instant, journal = true): Promise<void> {
    await this.finalCut(previousMicro(to), journal ? 'to' : null);
  }
}
