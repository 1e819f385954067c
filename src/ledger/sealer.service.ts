import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Periodic } from '../common/periodic';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { headFileOf, writeHead } from './audit-head';
import { AUDIT_KEYS, AuditKeys } from './audit-keys';
import { chainHash, contentHash, GENESIS_HASH, SealContentRow } from './journal-seal';
import { SealsStore } from './seals.store';

/** Only one sealer appends at a time, in whichever instance wins this lock; writers never wait for it. */
const SEALER_LOCK_KEY = 7_310_412_002;
export const SEAL_BATCH = 1000;
/**
 * How long a sealing run waits for the newest queued moment to become final before sealing what is: the schedule
 * barely (it comes back in half a second), a caller that needs the queue sealed (sealPending()) up to 2 s.
 */
const FINAL_WAIT_MS = { scheduled: 5, waiting: 2000 };

interface SealedBatch {
  count: number;
  head?: { seq: number; transactionId: string; hash: Buffer; firstSeq: number };
}

@Injectable()
export class SealerService {
  private readonly logger = new Logger(SealerService.name);
  private readonly periodic = new Periodic(
    () => this.sealPending(false),
    (m) => this.logger.warn(`sealing deferred: ${m}`),
  );

  /** The head we last refused to extend (logged once, not every half second). */
  private refusedSeq: string | null = null;

  private keyedFrom: number | null = null;
  private headRefused = false;

  /**
   * Without keys (a test's bare sealer) seals carry no MAC; the app always has them (docs/audit.md). Without the
   * configuration no signed head is written.
   */
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly seals: SealsStore,
    @Optional() @Inject(AUDIT_KEYS) private readonly keys: AuditKeys | null = null,
    @Optional() @Inject(APP_CONFIG) private readonly config: AppConfig | null = null,
  ) {}

  /** Started and stopped by the worker composition (worker/worker.module.ts), never by this module. */
  start(intervalMs = 500): void {
    this.periodic.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /**
   * Seals everything committed, final and not yet sealed; returns how many transactions it sealed. `wait`: take
   * the sealer's turn even when another run holds it (a caller that needs the queue sealed); the schedule skips.
   */
  async sealPending(wait = true): Promise<number> {
    let total = 0;
    for (;;) {
      const { count, head } = await this.sealBatch(wait);
      if (head) this.signHead(head);
      total += count;
      if (count < SEAL_BATCH) return total;
    }
  }

  /** After the batch committed: the signed head in DATA_DIR (audit-head.ts) moves to its last seal. */
  private signHead(head: NonNullable<SealedBatch['head']>): void {
    if (!this.keys || !this.config) return;
    const written = writeHead(
      headFileOf(this.config.audit.checkpointFile),
      this.keys,
      {
        ledgerCheckpoint: 1,
        seq: head.seq,
        transactionId: head.transactionId,
        hash: head.hash.toString('hex'),
        keyedFrom: this.keyedFrom,
      },
      head.firstSeq,
    );
    if (!written && !this.headRefused) {
      this.logger.warn('the signed head in DATA_DIR was not moved: it is newer (another instance), or does not verify (run the verifier)');
    }
    this.headRefused = !written;
  }

  private sealBatch(wait: boolean): Promise<SealedBatch> {
    return inTransaction(this.ds, async (m) => {
      if (!(await this.seals.lockSealer(m, SEALER_LOCK_KEY, wait))) return { count: 0 };
      // Seal only final moments (docs/time.md, the watermark), in moment order: seals then follow moments, and a
      // transaction written later with a moment in the past lands after a later moment, where the verifier sees it.
      // The watermark is read before the queue (each statement its own snapshot): whatever has a moment before it
      // has committed and is in the queue's snapshot.
      const watermark = await this.seals.awaitFinal(m, wait ? FINAL_WAIT_MS.waiting : FINAL_WAIT_MS.scheduled);
      const queue = await this.seals.queued(m, watermark, SEAL_BATCH);
      if (queue.length === 0) return { count: 0 };
      const last = await this.seals.lastSeal(m);
      // Extend only a head this key sealed: chaining onto a rewritten head would give the rewrite valid MACs.
      if (this.keys && last?.mac && !this.keys.macMatches(BigInt(last.seq), last.hash, last.mac)) {
        if (this.refusedSeq !== last.seq) {
          this.logger.error(
            `sealing stopped: seal #${last.seq} does not carry this instance's MAC (AUDIT_SEAL_KEY differs from the ` +
              'one that sealed it, or the seal was rewritten); run the verifier',
          );
        }
        this.refusedSeq = last.seq;
        return { count: 0 };
      }
      let seq = last ? BigInt(last.seq) : 0n;
      let prev: Buffer = last ? last.hash : GENESIS_HASH;
      // The writer hashed the content in its own transaction; only rows queued without a hash (an instance on
      // the previous release) are read back and hashed here.
      const unhashed = queue.filter((q) => !q.content_hash).map((q) => q.transaction_id);
      const content = unhashed.length ? await this.seals.content(m, unhashed) : new Map<string, SealContentRow>();
      const seqs: string[] = [],
        ids: string[] = [],
        contents: Buffer[] = [],
        prevs: Buffer[] = [],
        hashes: Buffer[] = [];
      const macs: Array<Buffer | null> = [];
      for (const { transaction_id: id, content_hash: queued } of queue) {
        seq += 1n;
        const c = queued ?? contentHash(content.get(id)!);
        const h = chainHash(prev, c, seq);
        seqs.push(seq.toString());
        ids.push(id);
        contents.push(c);
        prevs.push(prev);
        hashes.push(h);
        macs.push(this.keys ? this.keys.mac(seq, h) : null);
        prev = h;
      }
      await this.seals.append(m, { seqs, ids, contents, prevs, hashes, macs });
      if (this.keys && this.keyedFrom === null) this.keyedFrom = await this.seals.firstKeyedSeal(m);
      return { count: queue.length, head: { seq: Number(seq), transactionId: ids[ids.length - 1], hash: prev, firstSeq: Number(seqs[0]) } };
    });
  }
}
