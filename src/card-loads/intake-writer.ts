import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomFillSync } from 'node:crypto';
import { newRowId } from '../common/ids';
import { DataSource, EntityManager } from 'typeorm';
import { Caller } from '../auth/scopes';
import { ApiError } from '../common/errors';
import { GroupCommit, Outcome } from '../common/group-commit';
import { inStatements, pgCode, pgConstraint } from '../database/transaction';
import { InsufficientFundsError } from '../ledger/ledger.errors';
import { CardLoadRow, cardLoadView, CardLoadView } from './card-load.view';
import { CardLoadsStore } from './card-loads.store';

export const cardAccountCode = (enKashCardId: string) => `card:${enKashCardId}`;
export const parentAccountCode = (cardAccountId: string) => `parent:${cardAccountId}`;

/**
 * The references' random bytes, drawn from the CSPRNG 512 references at a time (as Node's randomUUID does): a
 * randomBytes call per load was 1 % of the API process's CPU at intake. Each part is handed out once.
 */
const referenceBytes = { pool: Buffer.alloc(8 * 512), at: 8 * 512 };

/** EnKash's uniqueReferenceNumber: time-ordered, random, minted once per load and never re-minted. */
export function mintReference(): string {
  const r = referenceBytes;
  if (r.at === r.pool.length) {
    randomFillSync(r.pool);
    r.at = 0;
  }
  r.at += 8;
  return `CL${Date.now().toString(36).toUpperCase()}${r.pool.toString('hex', r.at - 8, r.at).toUpperCase()}`;
}

export interface NormalisedLoad {
  enKashCardId: string;
  amountMinor: bigint;
  currency: string;
  companyId: string;
  cardAccountId: string;
  description: string | null;
  remarks: string | null;
  metadata: Record<string, string>;
}

/** What makes two requests "the same body" for an idempotency key: the normalised load, not its spelling. */
export function requestHash(n: NormalisedLoad): Buffer {
  const metadata = Object.fromEntries(Object.entries(n.metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha256')
    .update(JSON.stringify({ ...n, amountMinor: n.amountMinor.toString(), metadata }))
    .digest();
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

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly loads: CardLoadsStore,
  ) {}

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
      a.caller.apiKeyId === b.caller.apiKeyId
        ? a.idempotencyKey < b.idempotencyKey
          ? -1
          : 1
        : a.caller.apiKeyId < b.caller.apiKeyId
          ? -1
          : 1,
    );
    const results = await this.writeRetryingRaces(ordered);
    for (const [p, first] of followers) {
      const r = results.get(first)!;
      if (!r.ok) results.set(p, r);
      else if (!first.hash.equals(p.hash)) results.set(p, { ok: false, error: reusedKey() });
      else results.set(p, { ok: true, value: { load: r.value.load, replayed: true } });
    }
    return results;
  }

  /** A race on an idempotency key is settled by the next attempt's look at what committed (bounded). */
  private async writeRetryingRaces(items: Pending[]): Promise<Map<Pending, Outcome<IntakeResult>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inStatements(this.ds, (m) => this.write(m, items));
      } catch (e) {
        if (!(e instanceof IntakeRaced) || attempt >= 5) throw e;
      }
    }
  }

  /**
   * The whole batch in one call to the database, one statement that is its own transaction, at one moment
   * (docs/time.md; CardLoadsStore.intake, docs/design.md "Intake in one call"): replays are answered from what is
   * committed; the new loads, their accounts, jobs, events, journal with its content hashes, balances and history are
   * written by card_load_intake with the accounts locked first. A call that found keys taken wrote nothing, so the
   * call for the rest is a transaction of its own as well.
   */
  private async write(m: EntityManager, items: Pending[]): Promise<Map<Pending, Outcome<IntakeResult>>> {
    const results = new Map<Pending, Outcome<IntakeResult>>();
    const rows = items.map((p) => ({ p, id: newRowId(), journalId: newRowId(), reference: mintReference() }));
    let fresh = rows;
    let written = await this.intake(m, fresh);
    const taken = (w: CardLoadRow[], ours: Minted[]) => w.some((x) => !ours.some((r) => r.id === x.id));
    if (taken(written, fresh)) {
      // Some keys were taken: nothing was written. Answer those from the committed loads, write the others.
      fresh = [];
      for (const r of rows) {
        const found = written.find((e) => e.api_key_id === r.p.caller.apiKeyId && e.idempotency_key === r.p.idempotencyKey);
        if (!found) fresh.push(r);
        else if (!found.request_hash.equals(r.p.hash)) results.set(r.p, { ok: false, error: reusedKey() });
        else results.set(r.p, { ok: true, value: { load: cardLoadView(found), replayed: true } });
      }
      if (fresh.length === 0) return results;
      written = await this.intake(m, fresh);
      // Another key of the rest was committed between the two calls (nothing was written): start again.
      if (taken(written, fresh)) throw new IntakeRaced();
    }
    const byId = new Map(written.map((w) => [w.id, w]));
    for (const r of fresh) results.set(r.p, { ok: true, value: { load: cardLoadView(byId.get(r.id)!), replayed: false } });
    return results;
  }

  private async intake(m: EntityManager, rows: Minted[]): Promise<CardLoadRow[]> {
    try {
      return await this.loads.intake(
        m,
        rows.map((r) => ({
          id: r.id,
          reference: r.reference,
          apiKeyId: r.p.caller.apiKeyId,
          idempotencyKey: r.p.idempotencyKey,
          requestHash: r.p.hash,
          enKashCardId: r.p.load.enKashCardId,
          companyId: r.p.load.companyId,
          cardAccountId: r.p.load.cardAccountId,
          amountMinor: r.p.load.amountMinor,
          currency: r.p.load.currency,
          journalTransactionId: r.journalId,
          description: r.p.load.description,
          remarks: r.p.load.remarks,
          metadata: r.p.load.metadata,
          requestId: r.p.requestId,
          actor: r.p.caller.name,
          transferDescription: transferDescription(r),
        })),
      );
    } catch (e) {
      // A key committed by another transaction after our look (it waited for it): start again, so that the
      // replay is answered from the committed load and nothing of ours (an account opened for it) stays behind.
      if (pgCode(e) === INTAKE_RACED) throw new IntakeRaced();
      // A parent account closed to overdraft: the group commit retries each load alone, and alone its parent is the one.
      if (pgCode(e) === '23514' && pgConstraint(e) === 'accounts_no_overdraft' && rows.length === 1) {
        throw new InsufficientFundsError(parentAccountCode(rows[0].p.load.cardAccountId));
      }
      throw e;
    }
  }
}

type Minted = { p: Pending; id: string; journalId: string; reference: string };

/** SQLSTATE of card_load_intake when an idempotency key was committed meanwhile (migration 1765200000000). */
const INTAKE_RACED = 'CLR01';

const transferDescription = (r: Minted) => r.p.load.description ?? `card load ${r.id}`;

/** Another transaction committed one of the batch's idempotency keys while this one was writing. */
class IntakeRaced extends Error {
  override readonly name = 'IntakeRaced';
}

export function reusedKey(): ApiError {
  return new ApiError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body');
}
