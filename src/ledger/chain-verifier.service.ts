import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { chainHash, contentHash, GENESIS_HASH, loadSealContent } from './journal-seal';

export type VerifyResult =
  | { ok: true; checkedTransactions: number; unsealedTransactions: number }
  | { ok: false; brokenAt: string; seq: number; reason: string; checkedTransactions: number };

/** Walks the whole seal chain from the start and names the first link that no longer matches the data. */
@Injectable()
export class ChainVerifierService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async verify(batch = 2000): Promise<VerifyResult> {
    let prev: Buffer = GENESIS_HASH;
    let expectedSeq = 1n;
    let checked = 0;
    for (;;) {
      const seals: Array<{ seq: string; transaction_id: string; content_hash: Buffer; prev_hash: Buffer; hash: Buffer }> =
        await this.ds.query(`SELECT seq, transaction_id, content_hash, prev_hash, hash FROM journal_seals
                             WHERE seq >= $1 ORDER BY seq LIMIT $2`, [expectedSeq.toString(), batch]);
      if (seals.length === 0) break;
      const content = await loadSealContent(this.ds.manager, seals.map((s) => s.transaction_id));
      for (const s of seals) {
        const broken = (reason: string): VerifyResult => ({ ok: false, brokenAt: s.transaction_id, seq: Number(s.seq), reason, checkedTransactions: checked });
        if (BigInt(s.seq) !== expectedSeq) return broken(`seal sequence jumps from ${expectedSeq - 1n} to ${s.seq}`);
        const row = content.get(s.transaction_id);
        if (!row) return broken('sealed transaction is missing');
        if (!s.prev_hash.equals(prev)) return broken('seal does not link to the previous seal');
        const c = contentHash(row);
        if (!c.equals(s.content_hash)) return broken('transaction content differs from what was sealed');
        if (!chainHash(prev, c, expectedSeq).equals(s.hash)) return broken('seal hash does not match');
        prev = s.hash;
        expectedSeq += 1n;
        checked += 1;
      }
    }
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM journal_unsealed`);
    return { ok: true, checkedTransactions: checked, unsealedTransactions: n };
  }
}
