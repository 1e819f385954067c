import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Periodic } from '../common/periodic';
import { inTransaction } from '../database/transaction';
import { AUDIT_KEYS, AuditKeys } from './audit-keys';
import { chainHash, contentHash, GENESIS_HASH, loadSealContent, SealContentRow } from './journal-seal';

/** Only one sealer appends at a time, in whichever instance wins this lock; writers never wait for it. */
const SEALER_LOCK_KEY = 7_310_412_002;
export const SEAL_BATCH = 1000;

@Injectable()
export class SealerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SealerService.name);
  private readonly periodic = new Periodic(() => this.sealPending(), (m) => this.logger.warn(`sealing deferred: ${m}`));

  /** The head we last refused to extend (logged once, not every half second). */
  private refusedSeq: string | null = null;

  /** Without keys (a test's bare sealer) seals carry no MAC; the app always has them (docs/audit.md). */
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Optional() @Inject(AUDIT_KEYS) private readonly keys: AuditKeys | null = null,
  ) {}

  onApplicationBootstrap(): void {
    this.start();
  }

  /** Before Nest closes the database pool and the EnKash client: drain with both still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(intervalMs = 500): void {
    this.periodic.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Seals everything committed and not yet sealed; returns how many transactions it sealed. */
  async sealPending(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.sealBatch();
      total += n;
      if (n < SEAL_BATCH) return total;
    }
  }

  private sealBatch(): Promise<number> {
    return inTransaction(this.ds, async (m) => {
      const [{ locked }] = await m.query<Array<{ locked: boolean }>>(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [SEALER_LOCK_KEY]);
      if (!locked) return 0;
      const queue: Array<{ transaction_id: string; content_hash: Buffer | null }> = await m.query(
        `SELECT transaction_id, content_hash FROM journal_unsealed ORDER BY created_at, transaction_id LIMIT $1`, [SEAL_BATCH]);
      if (queue.length === 0) return 0;
      const last: Array<{ seq: string; hash: Buffer; mac: Buffer | null }> = await m.query(
        `SELECT seq, hash, mac FROM journal_seals ORDER BY seq DESC LIMIT 1`);
      // Extend only a head this key sealed: chaining onto a rewritten head would give the rewrite valid MACs.
      if (this.keys && last[0]?.mac && !this.keys.macMatches(BigInt(last[0].seq), last[0].hash, last[0].mac)) {
        if (this.refusedSeq !== last[0].seq) {
          this.logger.error(`sealing stopped: seal #${last[0].seq} does not carry this instance's MAC (AUDIT_SEAL_KEY differs from the `
            + 'one that sealed it, or the seal was rewritten); run the verifier');
        }
        this.refusedSeq = last[0].seq;
        return 0;
      }
      let seq = last.length ? BigInt(last[0].seq) : 0n;
      let prev: Buffer = last.length ? last[0].hash : GENESIS_HASH;
      // The writer hashed the content in its own transaction; only rows queued without a hash (an instance on
      // the previous release) are read back and hashed here.
      const unhashed = queue.filter((q) => !q.content_hash).map((q) => q.transaction_id);
      const content = unhashed.length ? await loadSealContent(m, unhashed) : new Map<string, SealContentRow>();
      const seqs: string[] = [], ids: string[] = [], contents: Buffer[] = [], prevs: Buffer[] = [], hashes: Buffer[] = [];
      const macs: Array<Buffer | null> = [];
      for (const { transaction_id: id, content_hash: queued } of queue) {
        seq += 1n;
        const c = queued ?? contentHash(content.get(id)!);
        const h = chainHash(prev, c, seq);
        seqs.push(seq.toString()); ids.push(id); contents.push(c); prevs.push(prev); hashes.push(h);
        macs.push(this.keys ? this.keys.mac(seq, h) : null);
        prev = h;
      }
      await m.query(
        `INSERT INTO journal_seals (seq, transaction_id, content_hash, prev_hash, hash, mac)
         SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])`,
        [seqs, ids, contents, prevs, hashes, macs]);
      await m.query(`DELETE FROM journal_unsealed u USING unnest($1::uuid[]) AS q(id) WHERE u.transaction_id = q.id`, [ids]);
      return queue.length;
    });
  }
}
