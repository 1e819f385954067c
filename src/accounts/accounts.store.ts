import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { byIds } from '../database/by-ids';
import { LedgerReads } from '../database/replica/ledger-reads';
import { AccountSpec } from '../ledger/ledger.types';

export type AccountRow = {
  id: string;
  code: string;
  currency: string;
  normal_side: 'debit' | 'credit';
  no_overdraft: boolean;
  name: string | null;
  created_at: Date;
  pending_debits: string;
  pending_credits: string;
  posted_debits: string;
  posted_credits: string;
  history_seq: string;
};

/**
 * accounts: opening and reading accounts. Their balances move only through the ledger (JournalStore.applyDeltas, under
 * the rows' locks), never here.
 */
@Injectable()
export class AccountsStore {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly reads: LedgerReads,
  ) {}

  /** Creates the accounts that do not exist yet, in code order (concurrent creators are harmless). */
  async insertMissing(m: EntityManager, specs: AccountSpec[]): Promise<void> {
    await m.query(
      `INSERT INTO accounts (code, currency, normal_side, no_overdraft, name)
       SELECT * FROM unnest($1::text[], $2::char(3)[], $3::text[], $4::boolean[], $5::text[])
       ORDER BY 1
       ON CONFLICT (code) DO NOTHING`,
      [
        specs.map((s) => s.code),
        specs.map((s) => s.currency),
        specs.map((s) => s.normalSide),
        specs.map((s) => s.noOverdraft ?? false),
        specs.map((s) => s.name ?? null),
      ],
    );
  }

  /** Creates one account; null when the code is already taken. */
  async open(m: EntityManager, spec: AccountSpec): Promise<AccountRow | null> {
    const rows: AccountRow[] = await m.query(
      `INSERT INTO accounts (code, currency, normal_side, no_overdraft, name) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (code) DO NOTHING RETURNING *`,
      [spec.code, spec.currency, spec.normalSide, spec.noOverdraft ?? false, spec.name ?? null],
    );
    return rows[0] ?? null;
  }

  async findByCodes(m: EntityManager, codes: string[]): Promise<AccountRow[]> {
    return m.query(`SELECT a.* FROM ${byIds('accounts', 'a', 'code', 1, 'text')}`, [codes]);
  }

  /** One account by code for an auditor read (LedgerReads: the replica when the request may use it); null when none. */
  async read(code: string): Promise<AccountRow | null> {
    const rows = await this.reads.query<AccountRow[]>(`SELECT * FROM accounts WHERE code = $1`, [code]);
    return rows[0] ?? null;
  }

  /** The account's id, currency and opening moment, by code; null when there is none. */
  async findIdentity(code: string): Promise<{ id: string; currency: string; created_at: Date } | null> {
    const rows = await this.reads.query<Array<{ id: string; currency: string; created_at: Date }>>(
      `SELECT id, currency, created_at FROM accounts WHERE code = $1`,
      [code],
    );
    return rows[0] ?? null;
  }

  /** A page by code after `after` (keyset on the unique code), plus one row to tell whether there is more. */
  async page(f: { after: string | null; currency?: string; namespace?: string; limit: number }): Promise<AccountRow[]> {
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    const where: string[] = [];
    if (f.after !== null) where.push(`code > ${arg(f.after)}`);
    if (f.currency) where.push(`currency = ${arg(f.currency)}`);
    if (f.namespace) where.push(`split_part(code, ':', 1) = ${arg(f.namespace)}`);
    return this.reads.query(
      `SELECT * FROM accounts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY code LIMIT ${arg(f.limit + 1)}`,
      args,
    );
  }
}
