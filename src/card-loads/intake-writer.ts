import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Caller } from '../auth/scopes';
import { ApiError } from '../common/errors';
import { GroupCommit, Outcome } from '../common/group-commit';
import { inTransaction } from '../database/transaction';
import { LedgerService } from '../ledger/ledger.service';
import { CardLoadRow, cardLoadView, CardLoadView } from './card-load.view';

export const cardAccountCode = (enKashCardId: string) => `card:${enKashCardId}`;
export const parentAccountCode = (cardAccountId: string) => `parent:${cardAccountId}`;

/** EnKash's uniqueReferenceNumber: time-ordered, random, minted once per load and never re-minted. */
export function mintReference(): string {
  return `CL${Date.now().toString(36).toUpperCase()}${randomBytes(8).toString('hex').toUpperCase()}`;
}

export interface NormalisedLoad {
  enKashCardId: string; amountMinor: bigint; currency: string; companyId: string; cardAccountId: string;
  description: string | null; remarks: string | null; metadata: Record<string, string>;
}

/** What makes two requests "the same body" for an idempotency key: the normalised load, not its spelling. */
export function requestHash(n: NormalisedLoad): Buffer {
  const metadata = Object.fromEntries(Object.entries(n.metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha256').update(JSON.stringify({ ...n, amountMinor: n.amountMinor.toString(), metadata })).digest();
}

export interface IntakeRequest {
  caller: Caller;
  idempotencyKey: string;
  load: NormalisedLoad;
  hash: Buffer;
  requestId: string | null;
}

export type IntakeResult = { load: CardLoadView; replayed: boolean };

type Pending = IntakeRequest;

/** Upper bound on loads per intake transaction (TigerBeetle style: bound every batch). */
export const INTAKE_BATCH_MAX = 200;

/**
 * Intake with group commit (common/group-commit.ts): loads that arrive while a transaction commits go
 * together in the next one, so the shared parent account is locked and committed once per batch instead of
 * once per load. Nothing is answered before its batch commits.
 */
@Injectable()
export class IntakeWriter {
  private readonly group = new GroupCommit<Pending, IntakeResult>('intake', (batch) => this.commitBatch(batch), INTAKE_BATCH_MAX);

  constructor(@InjectDataSource() private readonly ds: DataSource, private readonly ledger: LedgerService) {}

  submit(request: IntakeRequest): Promise<IntakeResult> {
    return this.group.submit(request);
  }

  private async commitBatch(batch: Pending[]): Promise<Map<Pending, Outcome<IntakeResult>>> {
    // Same API key and idempotency key twice in one batch: the first decides, the others replay it.
    const primaries = new Map<string, Pending>();
    const followers: Array<[Pending, Pending]> = [];
    for (const p of batch) {
      const k = `${p.caller.apiKeyId}\u0000${p.idempotencyKey}`;
      const first = primaries.get(k);
      if (first) followers.push([p, first]);
      else primaries.set(k, p);
    }
    // A fixed order of idempotency keys, so two instances' batches wait on each other instead of deadlocking.
    const ordered = [...primaries.values()].sort((a, b) =>
      a.caller.apiKeyId === b.caller.apiKeyId ? (a.idempotencyKey < b.idempotencyKey ? -1 : 1) : a.caller.apiKeyId < b.caller.apiKeyId ? -1 : 1);
    const results = await inTransaction(this.ds, (m) => this.write(m, ordered));
    for (const [p, first] of followers) {
      const r = results.get(first)!;
      if (!r.ok) results.set(p, r);
      else if (!first.hash.equals(p.hash)) results.set(p, { ok: false, error: reusedKey() });
      else results.set(p, { ok: true, value: { load: r.value.load, replayed: true } });
    }
    return results;
  }

  /** One transaction for the whole batch: loads + outbox + events, accounts, journal, balances. */
  private async write(m: EntityManager, items: Pending[]) {
    const rows = items.map((p) => ({ p, id: randomUUID(), journalId: randomUUID(), reference: mintReference() }));
    const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
    const inserted: CardLoadRow[] = await m.query(
      `WITH x AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::text[],
           $9::bigint[], $10::char(3)[], $11::uuid[], $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[])
           AS x(id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id, card_account_id,
                amount, currency, journal_transaction_id, description, remarks, metadata, request_id, actor)),
       ins AS (
         INSERT INTO card_loads (id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id,
           card_account_id, amount, currency, journal_transaction_id, description, remarks, metadata, request_id)
         SELECT id, reference, api_key_id, idempotency_key, request_hash, en_kash_card_id, company_id, card_account_id,
           amount, currency, journal_transaction_id, description, remarks, metadata, request_id FROM x
         ON CONFLICT ON CONSTRAINT card_loads_idempotency DO NOTHING
         RETURNING *),
       job AS (INSERT INTO sync_jobs (load_id) SELECT id FROM ins),
       ev AS (INSERT INTO load_events (load_id, type, outcome, actor, request_id)
              SELECT ins.id, 'created', 'pending', x.actor, ins.request_id FROM ins JOIN x ON x.id = ins.id)
       SELECT * FROM ins`,
      [col((r) => r.id), col((r) => r.reference), col((r) => r.p.caller.apiKeyId), col((r) => r.p.idempotencyKey),
        col((r) => r.p.hash), col((r) => r.p.load.enKashCardId), col((r) => r.p.load.companyId), col((r) => r.p.load.cardAccountId),
        col((r) => r.p.load.amountMinor.toString()), col((r) => r.p.load.currency), col((r) => r.journalId),
        col((r) => r.p.load.description), col((r) => r.p.load.remarks), col((r) => JSON.stringify(r.p.load.metadata)),
        col((r) => r.p.requestId), col((r) => r.p.caller.name)]);
    const byId = new Map(inserted.map((r) => [r.id, r]));
    const created = rows.filter((r) => byId.has(r.id));
    const results = new Map<Pending, Outcome<IntakeResult>>();
    const conflicting = rows.filter((r) => !byId.has(r.id));
    if (conflicting.length > 0) {
      const existing: CardLoadRow[] = await m.query(
        `SELECT l.* FROM card_loads l JOIN unnest($1::uuid[], $2::text[]) AS k(api_key_id, idempotency_key)
           ON l.api_key_id = k.api_key_id AND l.idempotency_key = k.idempotency_key`,
        [conflicting.map((r) => r.p.caller.apiKeyId), conflicting.map((r) => r.p.idempotencyKey)]);
      for (const r of conflicting) {
        const found = existing.find((e) => e.api_key_id === r.p.caller.apiKeyId && e.idempotency_key === r.p.idempotencyKey);
        if (!found) results.set(r.p, { ok: false, error: new ApiError(409, 'idempotency_key_in_progress', 'a request with this Idempotency-Key is in progress; retry') });
        else if (!found.request_hash.equals(r.p.hash)) results.set(r.p, { ok: false, error: reusedKey() });
        else results.set(r.p, { ok: true, value: { load: cardLoadView(found), replayed: true } });
      }
    }
    if (created.length > 0) {
      const specs = new Map<string, { code: string; currency: string; normalSide: 'credit' }>();
      for (const r of created) {
        const n = r.p.load;
        for (const code of [parentAccountCode(n.cardAccountId), cardAccountCode(n.enKashCardId)]) {
          specs.set(code, { code, currency: n.currency, normalSide: 'credit' });
        }
      }
      const accounts = await this.ledger.ensureAccounts(m, [...specs.values()]);
      await this.ledger.createTransfers(m, created.map((r) => ({
        id: r.journalId, kind: 'pending' as const, event: 'load_pending' as const, loadId: r.id,
        description: r.p.load.description ?? `card load ${r.id}`,
        entries: [
          { accountCode: parentAccountCode(r.p.load.cardAccountId), direction: 'debit' as const, amount: r.p.load.amountMinor, currency: r.p.load.currency },
          { accountCode: cardAccountCode(r.p.load.enKashCardId), direction: 'credit' as const, amount: r.p.load.amountMinor, currency: r.p.load.currency },
        ],
      })), accounts);
      for (const r of created) results.set(r.p, { ok: true, value: { load: cardLoadView(byId.get(r.id)!), replayed: false } });
    }
    return results;
  }
}

function reusedKey(): ApiError {
  return new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request body');
}
