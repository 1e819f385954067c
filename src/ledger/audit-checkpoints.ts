import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataSource } from 'typeorm';
import { writeFileDurably } from '../common/durable-file';
import { Periodic } from '../common/periodic';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import { AUDIT_KEYS, AuditKeys } from './audit-keys';
import { SealsStore } from './seals.store';

/** What a checkpoint says: the chain's head at a moment, and from which seal on every seal carries a MAC. */
export interface CheckpointDocument {
  ledgerCheckpoint: 1;
  seq: number;
  transactionId: string;
  /** hash(seq), hex: recompute the chain from seal 1 to `seq` and compare. */
  hash: string;
  /** The first seal with a MAC (seals before it were written before the ledger had a key); null: none yet. */
  keyedFrom: number | null;
  signedAt: string;
  keyId: string;
}

/** One line of the checkpoint file, one `audit.checkpoint` event: the exact signed text and its Ed25519 signature. */
export interface SignedCheckpoint {
  document: string;
  signature: string;
}

/** One instance at a time records a checkpoint in the database and announces it. */
const CHECKPOINT_LOCK_KEY = 7_310_412_013;

/** The document's fields in a fixed order, so the signed bytes are the same whoever serialises them. */
export function checkpointText(d: CheckpointDocument): string {
  return JSON.stringify({
    ledgerCheckpoint: d.ledgerCheckpoint,
    seq: d.seq,
    transactionId: d.transactionId,
    hash: d.hash,
    keyedFrom: d.keyedFrom,
    signedAt: d.signedAt,
    keyId: d.keyId,
  });
}

/** The checkpoint file, line by line: what parses, and what does not (reported by the verifier). */
export function readCheckpointFile(file: string): { checkpoints: SignedCheckpoint[]; unreadable: number[] } {
  if (!existsSync(file)) return { checkpoints: [], unreadable: [] };
  const checkpoints: SignedCheckpoint[] = [];
  const unreadable: number[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const c = JSON.parse(line) as SignedCheckpoint;
        if (typeof c.document !== 'string' || typeof c.signature !== 'string') throw new Error('shape');
        checkpoints.push({ document: c.document, signature: c.signature });
      } catch {
        unreadable.push(i + 1);
      }
    });
  return { checkpoints, unreadable };
}

/** Where the public key is published beside the checkpoints (PEM, SubjectPublicKeyInfo). */
export const publicKeyFileOf = (checkpointFile: string) => join(dirname(checkpointFile), 'audit-checkpoint.pub');

/**
 * Signed chain-head checkpoints, outside the database (docs/audit.md): on a schedule, every instance signs the
 * current head of the seal chain (once its MAC proves the sealer wrote it) and appends it to the checkpoint file
 * in DATA_DIR (fsync'd). One instance at a time also records it in audit_checkpoints and sends it to the
 * `audit.checkpoint` webhook subscribers, who keep their own copy. A rewrite of anything before a checkpoint then
 * contradicts a signature nobody with the database alone can make.
 */
@Injectable()
export class AuditCheckpointer {
  private readonly logger = new Logger(AuditCheckpointer.name);
  private readonly periodic = new Periodic(
    () => this.checkpoint(),
    (m) => this.logger.warn(`checkpoint deferred: ${m}`),
  );
  private lastFileSeq: number | null = null;
  private keyedFrom: number | null = null;
  private refusedSeq: string | null = null;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly seals: SealsStore,
    @Inject(AUDIT_KEYS) private readonly keys: AuditKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** Publishes the public key and starts the schedule; called by the worker composition (worker/worker.module.ts). */
  start(): void {
    const file = this.config.audit.checkpointFile;
    mkdirSync(dirname(file), { recursive: true });
    const pub = publicKeyFileOf(file);
    if (!existsSync(pub) || readFileSync(pub, 'utf8') !== this.keys.publicKeyPem) writeFileDurably(pub, this.keys.publicKeyPem, 0o644);
    const last = readCheckpointFile(file).checkpoints.at(-1);
    if (last) this.lastFileSeq = (JSON.parse(last.document) as CheckpointDocument).seq;
    this.periodic.start(this.config.audit.checkpointIntervalMs);
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Signs the chain's head if it moved since the last checkpoint; returns the checkpoint, or null. */
  async checkpoint(): Promise<SignedCheckpoint | null> {
    const head = await this.seals.head();
    if (!head) return null;
    // Never anchor a head this key did not seal: it would vouch for a rewritten chain.
    if (head.mac !== null ? !this.keys.macMatches(BigInt(head.seq), head.hash, head.mac) : await this.keyedBefore(head.seq)) {
      if (this.refusedSeq !== head.seq)
        this.logger.error(
          `no checkpoint: seal #${head.seq} does not carry this key's MAC (AUDIT_SEAL_KEY ` +
            "differs from the sealer's, or the seal was rewritten); run the verifier",
        );
      this.refusedSeq = head.seq;
      return null;
    }
    const seq = Number(head.seq);
    if (this.keyedFrom === null) this.keyedFrom = await this.firstKeyedSeal();
    const doc: CheckpointDocument = {
      ledgerCheckpoint: 1,
      seq,
      transactionId: head.transaction_id,
      hash: head.hash.toString('hex'),
      keyedFrom: this.keyedFrom,
      signedAt: new Date().toISOString(),
      keyId: this.keys.keyId,
    };
    const document = checkpointText(doc);
    const signed: SignedCheckpoint = { document, signature: this.keys.sign(document) };
    if (this.lastFileSeq === null || seq > this.lastFileSeq) {
      appendDurably(this.config.audit.checkpointFile, `${JSON.stringify(signed)}\n`);
      this.lastFileSeq = seq;
    }
    await inTransaction(this.ds, async (m) => {
      if (!(await this.seals.tryLock(m, CHECKPOINT_LOCK_KEY))) return;
      const inserted = await this.seals.recordCheckpoint(m, {
        seq,
        transactionId: head.transaction_id,
        hash: head.hash,
        keyId: this.keys.keyId,
        signedAt: doc.signedAt,
        document,
        signature: signed.signature,
      });
      if (inserted) await this.outbox.enqueueCheckpoint(m, signed);
    });
    return signed;
  }

  /** An unkeyed head after keyed seals: an instance without the key sealed it, or the MACs were stripped. */
  private async keyedBefore(seq: string): Promise<boolean> {
    return (await this.firstKeyedSeal()) !== null && Number(seq) > (this.keyedFrom ?? Infinity);
  }

  private async firstKeyedSeal(): Promise<number | null> {
    if (this.keyedFrom !== null) return this.keyedFrom;
    this.keyedFrom = await this.seals.firstKeyedSeal();
    return this.keyedFrom;
  }
}

function appendDurably(file: string, text: string): void {
  const fd = openSync(file, 'a', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
