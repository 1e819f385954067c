import { Inject, Injectable, Optional } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { AuditEventsStore } from '../audit-trail/audit-events.store';
import { verifyAuditTrail } from '../audit-trail/audit-trail.verify';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CheckpointDocument, readCheckpointFile, SignedCheckpoint } from './audit-checkpoints';
import { headFileOf, readHead } from './audit-head';
import { AUDIT_KEYS, AuditKeys, signatureMatches } from './audit-keys';
import { AuditStore } from './audit.store';
import { chainHash, contentHash, GENESIS_HASH } from './journal-seal';
import { LEDGER_CHECKS } from './ledger-invariants';
import { SealRow, SealsStore } from './seals.store';
import { SealContentRow } from './journal-seal';
import { PartitionsStore } from './partitions/partitions.store';

/** One thing found wrong, naming its row: a transaction id, an account code (`code#seq` for a history row), a load id. */
export interface Finding {
  check: string;
  row: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  checkedTransactions: number;
  unsealedTransactions: number;
  /** Events of the audit trail of admin actions walked from the first (docs/audit-trail.md). */
  checkedAuditEvents: number;
  /** Seals of archived months whose content was not recomputed (their tables not here); absent when nothing is archived. */
  archivedUnchecked?: number;
  /** true when every seal's MAC was checked with this instance's audit key. */
  keyed: boolean;
  checkpoints: { checked: number; latestSeq: number | null };
  /** The first finding's row (for a broken chain: the first transaction whose seal no longer holds). */
  brokenAt?: string;
  seq?: number;
  reason?: string;
  findings: Finding[];
  startedAt: string;
  durationMs: number;
}

export interface VerifyOptions {
  /** Seals per read (small values exercise the paging). */
  batch?: number;
  /** More checkpoints to hold the chain to (an auditor's file). */
  checkpoints?: SignedCheckpoint[];
  /** The public key that signs checkpoints, for an auditor without the audit key. */
  publicKey?: KeyObject;
  /** Archived journal_entries tables given back under other names (schema.table), besides those ledger_archives names. */
  archives?: string[];
}

/** What the chain walk knows of archived months (docs/audit.md, "Archived months"). */
interface ArchiveView {
  /** The archive point as created_at_utc writes moments (microseconds), or null. */
  before: string | null;
  /** The archived entries tables that are here to recompute content from. */
  tables: string[];
  /** Each archived month's anchor: its last seal and that seal's hash. */
  anchors: Map<number, { hash: string; month: string; point: string }>;
  /** Each archived month's first seal after the point (its anchor's next), which must be at or after it. */
  next: Map<number, { month: string; point: string }>;
}

/** Findings listed per check; the count says how many more there are. */
const FINDINGS_PER_CHECK = 20;
const DEFAULT_BATCH = 5000;

/** A signed anchor of the chain: a checkpoint, or the signed head; `momentOrderFrom` comes with heads (audit-head.ts). */
type Anchor = CheckpointDocument & { by: 'signed checkpoint' | 'signed head'; momentOrderFrom?: number };

/**
 * The complete verifier (docs/audit.md): the seal chain from its first link (content, links, MACs), held to every
 * signed checkpoint (the file outside the database, the table, an auditor's own); every journal transaction sealed
 * or queued, and the queue short; and every docs/design.md invariant the database can be asked about (balances equal
 * entries and the last history row, history gapless and continuous, card balances equal their loads); and the audit
 * trail of admin actions, its chain and MACs (src/audit-trail/audit-trail.verify.ts). Each finding names its row.
 * Reads only; safe while writers go on.
 */
@Injectable()
export class AuditVerifierService {
  constructor(
    private readonly seals: SealsStore,
    private readonly audit: AuditStore,
    private readonly auditEvents: AuditEventsStore,
    private readonly partitions: PartitionsStore,
    @Optional() @Inject(AUDIT_KEYS) private readonly keys: AuditKeys | null = null,
    @Optional() @Inject(APP_CONFIG) private readonly config: AppConfig | null = null,
  ) {}

  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    const started = new Date();
    const t0 = performance.now();
    const checkpoints = await this.checkpoints(opts);
    const archive = await this.archiveView(opts.archives ?? []);
    const [chain, coverage, invariants, trail] = await Promise.all([
      this.walkChain(opts.batch ?? DEFAULT_BATCH, checkpoints.valid, archive),
      this.coverage(),
      this.invariants(),
      verifyAuditTrail(this.auditEvents, this.keys),
    ]);
    const findings = [...chain.findings, ...checkpoints.findings, ...coverage.findings, ...invariants, ...trail.findings];
    const first = chain.findings[0] ?? findings[0];
    // The signed head is held like a checkpoint, but `checkpoints` counts checkpoints only, as it always did.
    const held = checkpoints.valid.filter((c) => c.by === 'signed checkpoint');
    return {
      ok: findings.length === 0,
      checkedTransactions: chain.checked,
      unsealedTransactions: coverage.unsealed,
      checkedAuditEvents: trail.checkedEvents,
      ...(archive.before !== null ? { archivedUnchecked: chain.archivedUnchecked } : {}),
      keyed: this.keys !== null,
      checkpoints: { checked: held.length, latestSeq: held.at(-1)?.seq ?? null },
      ...(first
        ? {
            brokenAt: first.row,
            ...(chain.brokenSeq !== null && first === chain.findings[0] ? { seq: chain.brokenSeq } : {}),
            reason: first.message,
          }
        : {}),
      findings,
      startedAt: started.toISOString(),
      durationMs: Math.round(performance.now() - t0),
    };
  }

  /** Checkpoints from the file outside the database, the table, and the caller; each signature checked. */
  private async checkpoints(opts: VerifyOptions): Promise<{ valid: Anchor[]; findings: Finding[] }> {
    const findings: Finding[] = [];
    const publicKey = opts.publicKey ?? this.keys?.publicKey;
    const heads: Anchor[] = [];
    if (this.config && publicKey) {
      // The signed head (audit-head.ts): the chain must reach it, and hold its hash there.
      const file = headFileOf(this.config.audit.checkpointFile);
      const { head, broken } = readHead(file, { publicKey });
      if (broken) {
        findings.push({ check: 'checkpoints', row: file, message: 'the signed head is unreadable or its signature does not verify' });
      }
      if (head) heads.push({ ...head, by: 'signed head' });
    }
    const signed: Array<SignedCheckpoint & { from: string }> = [];
    if (this.config) {
      const file = readCheckpointFile(this.config.audit.checkpointFile);
      signed.push(...file.checkpoints.map((c) => ({ ...c, from: 'file' })));
      for (const line of file.unreadable) {
        findings.push({
          check: 'checkpoints',
          row: `${this.config.audit.checkpointFile}:${line}`,
          message: 'checkpoint line is not readable',
        });
      }
    }
    const rows = await this.seals.checkpoints();
    signed.push(...rows.map((r) => ({ ...r, from: 'table' })), ...(opts.checkpoints ?? []).map((c) => ({ ...c, from: 'given' })));
    if (!publicKey) return { valid: [], findings };
    const valid = new Map<number, Anchor>();
    for (const c of signed) {
      let doc: CheckpointDocument | null;
      try {
        doc = JSON.parse(c.document) as CheckpointDocument;
      } catch {
        doc = null;
      }
      if (!doc || doc.ledgerCheckpoint !== 1 || !Number.isSafeInteger(doc.seq) || !signatureMatches(publicKey, c.document, c.signature)) {
        findings.push({
          check: 'checkpoints',
          row: `checkpoint#${doc?.seq ?? '?'}`,
          message: `a checkpoint (${c.from}) whose signature does not verify with key ${this.keys?.keyId ?? 'given'}`,
        });
        continue;
      }
      const seen = valid.get(doc.seq);
      if (seen && seen.hash !== doc.hash) {
        findings.push({ check: 'checkpoints', row: `checkpoint#${doc.seq}`, message: 'two signed checkpoints disagree about one seal' });
      }
      valid.set(doc.seq, { ...doc, by: 'momentOrderFrom' in doc ? 'signed head' : 'signed checkpoint' });
    }
    for (const h of heads) {
      const same = valid.get(h.seq);
      if (same && same.hash !== h.hash) {
        findings.push({
          check: 'checkpoints',
          row: `checkpoint#${h.seq}`,
          message: 'the signed head and a signed checkpoint disagree about one seal',
        });
      }
      // A head at a checkpoint's seal (the usual case) stays that checkpoint, with the head's moment rule.
      valid.set(h.seq, same ? { ...same, momentOrderFrom: h.momentOrderFrom } : h);
    }
    return { valid: [...valid.values()].sort((a, b) => a.seq - b.seq), findings };
  }

  /**
   * Walks the chain from seal 1, recomputing every content hash, link and MAC, and holds it to the checkpoints.
   * Stops at the first broken link: what follows it cannot be trusted, and the first one is what to name.
   */
  private async walkChain(
    batch: number,
    checkpoints: Anchor[],
    archive: ArchiveView,
  ): Promise<{ checked: number; findings: Finding[]; brokenSeq: number | null; archivedUnchecked: number }> {
    let archivedUnchecked = 0;
    const anchors = new Map(checkpoints.map((c) => [c.seq, c]));
    // From this seal on, moments never go back along the chain (audit-head.ts); earlier seals predate the rule.
    const orderFrom = checkpoints.reduce((lo, c) => Math.min(lo, c.momentOrderFrom ?? Infinity), Infinity);
    const backdated: Finding[] = [];
    let latestMoment = '';
    const keyedFrom = checkpoints.reduce<number | null>(
      (lo, c) => (c.keyedFrom === null ? lo : Math.min(lo ?? Infinity, c.keyedFrom)),
      null,
    );
    let prev: Buffer = GENESIS_HASH;
    let expected = 1n;
    let keyedSeen = false;
    const read = (from: bigint): Promise<SealRow[]> => this.seals.sealsFrom(from, batch);
    let next = read(expected);
    for (;;) {
      const seals = await next;
      if (seals.length === 0) break;
      next = read(BigInt(seals[seals.length - 1].seq) + 1n); // the next batch is read while this one is hashed
      // A transaction before the archive point has its entries in an archived table: recomputed from it when it is
      // here, else the seal's own content hash stands (its link, MAC and the month's anchor are still checked).
      const isArchived = (s: SealRow) => archive.before !== null && s.created_at_utc < archive.before;
      const archived = seals.filter(isArchived);
      const archivedContent =
        archived.length && archive.tables.length
          ? await this.seals.archivedContent(
              archived.map((s) => s.transaction_id),
              archive.tables,
            )
          : new Map<string, SealContentRow>();
      for (const s of seals) {
        const seq = BigInt(s.seq);
        const broken = (message: string) => {
          void next.catch(() => undefined);
          return {
            checked: Number(expected - 1n),
            brokenSeq: Number(seq),
            archivedUnchecked,
            findings: [{ check: 'chain', row: s.transaction_id, message }, ...backdated],
          };
        };
        if (seq !== expected) return broken(`seal sequence jumps from ${expected - 1n} to ${seq}`);
        if (!s.present) return broken('sealed transaction is missing');
        if (!s.prev_hash.equals(prev)) return broken('seal does not link to the previous seal');
        let c: Buffer;
        // Live rows are always recomputed (whatever the archive point says); only a transaction whose entries are
        // absent here and that is before the point falls back to the archived table or the seal's own hash.
        if (!isArchived(s) || s.entries.length > 0) c = contentHash(s);
        else {
          const kept = archivedContent.get(s.transaction_id);
          if (kept) c = contentHash(kept);
          else {
            c = s.content_hash;
            archivedUnchecked += 1;
          }
        }
        if (!c.equals(s.content_hash)) return broken('transaction content differs from what was sealed');
        const h = chainHash(prev, c, seq);
        if (!h.equals(s.hash)) return broken('seal hash does not match');
        if (this.keys) {
          if (s.mac !== null && !this.keys.macMatches(seq, h, s.mac)) {
            return broken('seal MAC does not match: the seal was written or rewritten without the audit key');
          }
          if (s.mac === null && (keyedSeen || (keyedFrom !== null && seq >= keyedFrom))) {
            return broken('seal has no MAC although earlier seals do: written or rewritten without the audit key');
          }
        }
        keyedSeen ||= s.mac !== null;
        const closes = archive.anchors.get(Number(seq));
        if (closes && closes.hash !== h.toString('hex')) {
          return broken(`the chain differs from the anchor recorded when the month before ${closes.month} was archived`);
        }
        // The archive point is pinned to the chain: the anchor is the last seal before it, the next one is after it.
        if (closes && s.created_at_utc >= closes.point) {
          return broken(`the archive point ${closes.month} is not after its anchor seal #${seq}: ledger_archives was rewritten`);
        }
        const opens = archive.next.get(Number(seq));
        if (opens && s.created_at_utc < opens.point) {
          return broken(
            `the archive point ${opens.month} is after seal #${seq}, which its anchor says follows it: ledger_archives was rewritten`,
          );
        }
        const anchor = anchors.get(Number(seq));
        if (anchor && anchor.hash !== h.toString('hex')) {
          return broken(`the chain differs from the ${anchor.by} at seal #${seq}: a transaction at or before it was rewritten`);
        }
        if (Number(seq) >= orderFrom && s.created_at_utc < latestMoment && backdated.length < FINDINGS_PER_CHECK) {
          backdated.push({
            check: 'backdated',
            row: s.id,
            message:
              `sealed after a transaction of ${latestMoment}, its moment ` +
              `(${s.created_at_utc}) is before it: written later with a moment in the past, it changes balances as of a final moment`,
          });
        }
        if (s.created_at_utc > latestMoment) latestMoment = s.created_at_utc;
        prev = h;
        expected += 1n;
      }
    }
    const beyond = checkpoints.filter((c) => c.seq >= Number(expected)).sort((a, b) => b.seq - a.seq);
    return {
      checked: Number(expected - 1n),
      brokenSeq: null,
      archivedUnchecked,
      findings: [
        ...beyond.slice(0, 1).map((c) => ({
          check: 'chain',
          row: c.transactionId,
          message:
            `the chain ends at seal #${expected - 1n} but the ${c.by} holds seal #${c.seq}: seals were removed ` +
            '(or DATA_DIR belongs to another database, or the database was restored from a backup: one DATA_DIR per ledger)',
        })),
        ...backdated,
      ],
    };
  }

  /** The archive point, the archived entries tables that are here (recorded or given), and each month's anchor. */
  private async archiveView(given: string[]): Promise<ArchiveView> {
    const before = await this.partitions.archivedBefore();
    if (before === null && given.length === 0) return { before: null, tables: [], anchors: new Map(), next: new Map() };
    const months = before === null ? [] : await this.partitions.archives();
    const tables: string[] = [];
    for (const t of [...months.map((m) => m.entries_table), ...given]) {
      if (!tables.includes(t) && (await this.partitions.exists(t))) tables.push(t);
    }
    // created_at_utc has microseconds: the point written the same way compares as text.
    const utc = (d: Date) => d.toISOString().replace('Z', '000Z');
    const anchors = new Map(
      months
        .filter((m) => m.last_seal_seq !== null && m.last_seal_hash !== null)
        .map((m) => [Number(m.last_seal_seq), { hash: m.last_seal_hash!.toString('hex'), month: m.hi.toISOString(), point: utc(m.hi) }]),
    );
    // The seal after each anchor (seal 1 when nothing was sealed before the point) is at or after the point.
    const next = new Map(months.map((m) => [Number(m.last_seal_seq ?? 0) + 1, { month: m.hi.toISOString(), point: utc(m.hi) }]));
    return { before: before === null ? null : utc(before), tables, anchors, next };
  }

  /** Every journal transaction sealed or queued, and the queue short (the sealer keeps up). */
  private async coverage(): Promise<{ unsealed: number; findings: Finding[] }> {
    const findings: Finding[] = [];
    const orphans = await this.seals.orphans(FINDINGS_PER_CHECK);
    for (const o of orphans) {
      findings.push({
        check: 'unsealed',
        row: o.id,
        message:
          'journal transaction neither sealed nor queued for sealing (written around the ledger)' +
          (o.n > orphans.length ? `; ${o.n} in all` : ''),
      });
    }
    const queue = await this.seals.queueState();
    const maxAgeMs = this.config?.audit.maxUnsealedAgeMs ?? 5 * 60_000;
    if (queue.oldest !== null && (queue.age_ms ?? 0) > maxAgeMs) {
      findings.push({
        check: 'queue',
        row: queue.oldest,
        message:
          `${queue.n} transactions wait to be sealed, the oldest for ${Math.round((queue.age_ms ?? 0) / 1000)} s ` +
          `(more than ${maxAgeMs / 1000} s): is the sealer stopped?`,
      });
    }
    return { unsealed: queue.n, findings };
  }

  private async invariants(): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const check of LEDGER_CHECKS) {
      const rows = await this.audit.violations(check, FINDINGS_PER_CHECK);
      for (const r of rows) findings.push({ check: check.name, row: r.row, message: check.says });
    }
    return findings;
  }
}
