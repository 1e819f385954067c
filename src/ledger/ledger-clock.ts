import { Inject, Injectable, Optional } from '@nestjs/common';
import { ApiError } from '../common/errors';
import { Instant, instantOf, msIso, parseInstant, previousMicro } from '../common/instant';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LedgerReads } from '../database/replica/ledger-reads';
import { FinalSample } from '../database/replica/read-plan';
import { JournalStore } from './journal.store';
import { ArchivePoint } from './partitions/archive-point';

/** Each database call waits at most this long in Postgres (a connection is held), then the loop here goes on. */
const CALL_WAIT_MS = 100;
/** Watermark samples kept (each about 100 bytes): reads of moments before the oldest use it, waiting a little longer. */
const MAX_SAMPLES = 1024;

/**
 * The stable past (docs/time.md): a read as of T answers only once nothing that could still commit with a
 * time at or before T is in flight. Every ledger transaction takes its xid before it reads its moment
 * (ledger_moment), so the oldest in-flight transaction's start is a watermark: rows with a time before it are
 * final. A read waits (bounded by LEDGER_FINAL_WAIT_MS) for the watermark to pass its moment, else answers 503.
 * An auditor read served by a replica also needs the replica to have replayed the primary's WAL up to where it stood
 * when the watermark was read: the cut hands that sample to its read plan (LedgerReads.requireFinal, docs/time.md
 * "Replicas").
 */
@Injectable()
export class LedgerClock {
  /**
   * Watermarks seen, each with where the primary's WAL stood when it was read, rising, all of one timeline: every row
   * with a time before the last one's `watermarkMs` is final. A read of the past on a replica needs only the earliest
   * sample past its moment replayed, so a replica that lags still serves the settled past at once. A sample of another
   * timeline is never trusted: after a failover the new primary's clock and WAL are not the old one's.
   */
  private samples: FinalSample[] = [];
  private readonly waitMs: number;

  constructor(
    private readonly journal: JournalStore,
    private readonly reads: LedgerReads,
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
    const known = asOf && this.samples.find((s) => asOf.ms < s.watermarkMs);
    if (asOf && known) {
      if (!this.reads.onReplica()) return asOf;
      // The replica must replay the sample's LSN, which means something only while the primary is on its timeline.
      if ((await this.journal.primaryTimeline()) === known.timeline) {
        this.reads.requireFinal(known);
        return asOf;
      }
      this.samples = [];
    }
    const deadline = performance.now() + this.waitMs;
    for (;;) {
      const remaining = Math.max(0, Math.ceil(deadline - performance.now()));
      const r = await this.journal.awaitFinal(asOf?.iso ?? null, Math.min(remaining, CALL_WAIT_MS), this.waitMs);
      const cut = r.cut === asOf?.iso ? asOf : parseInstant('cut', r.cut)!;
      if (cut.ms < r.watermark_ms) {
        if (r.lsn !== null && r.timeline !== null) {
          const sample = { lsn: r.lsn, timeline: r.timeline, watermarkMs: r.watermark_ms };
          this.remember(sample);
          this.reads.requireFinal(sample);
        }
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

  private remember(sample: FinalSample): void {
    const last = this.samples.at(-1);
    if (last && last.timeline !== sample.timeline) this.samples = [];
    else if (last && sample.watermarkMs <= last.watermarkMs) return;
    this.samples.push(sample);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
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
