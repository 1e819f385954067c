import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CARD_ACCOUNT_ID, CARD_ID } from '../card-loads/card-load.dto';
import { KeysetList } from '../common/csv';
import { ApiError, badField, FieldProblem, notFound, validationFailed } from '../common/errors';
import { TimeRangeListQuery } from '../common/list-query';
import { msIso, parseInstant } from '../common/instant';
import { checkCursorPart, decodeCursor, keyedList, parseLimit, parseRange } from '../common/paging';
import { inTransaction } from '../database/transaction';
import { balancesAsOf } from '../ledger/balances-as-of';
import { LedgerClock } from '../ledger/ledger-clock';
import { LedgerService, toAccount } from '../ledger/ledger.service';
import { JournalStore } from '../ledger/journal.store';
import { Account } from '../ledger/ledger.types';
import { AccountsStore } from './accounts.store';
import { ACCOUNT_CODE, ACCOUNT_CODE_MESSAGE, AccountQuery, CreateAccountDto, ListAccountsQuery } from './account.dto';
import { ACCOUNT_CSV, accountView, AccountView, ENTRY_CSV, entryView, EntryView } from './account.view';

/**
 * Card intake creates `card:` and `parent:` accounts as credit-normal INR (card-loads.service) and settlement
 * may debit a card to undo a load; an operator-made account in those namespaces must fit, or later loads break.
 */
function loadAccountProblems(dto: CreateAccountDto): FieldProblem[] {
  const [namespace, id] = [dto.code.slice(0, dto.code.indexOf(':')), dto.code.slice(dto.code.indexOf(':') + 1)];
  if (namespace !== 'card' && namespace !== 'parent') return [];
  const problems: FieldProblem[] = [];
  if (!(namespace === 'card' ? CARD_ID : CARD_ACCOUNT_ID).test(id)) {
    problems.push({
      field: 'code',
      message: `must name an EnKash ${namespace === 'card' ? 'card id (card:EKC…)' : 'card account id (parent:CA…)'}`,
    });
  }
  if (dto.currency !== 'INR') problems.push({ field: 'currency', message: `must be INR for a ${namespace} account` });
  if (dto.normalSide !== 'credit') problems.push({ field: 'normalSide', message: `must be credit for a ${namespace} account` });
  if (namespace === 'card' && dto.noOverdraft)
    problems.push({ field: 'noOverdraft', message: 'a card account must accept the debit that undoes a load' });
  return problems;
}

@Injectable()
export class AccountsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly ledger: LedgerService,
    private readonly clock: LedgerClock,
    private readonly accounts: AccountsStore,
    private readonly journal: JournalStore,
  ) {}

  async create(dto: CreateAccountDto): Promise<AccountView> {
    const problems = loadAccountProblems(dto);
    if (problems.length) throw validationFailed(problems);
    const account = await inTransaction(this.ds, (m) =>
      this.ledger.openAccount(m, {
        code: dto.code,
        currency: dto.currency,
        normalSide: dto.normalSide,
        noOverdraft: dto.noOverdraft ?? false,
        name: dto.name ?? null,
      }),
    );
    if (!account) throw new ApiError('conflict', `account ${dto.code} already exists`);
    return accountView(account);
  }

  /** Ordered by code; keyset on the unique code, so accounts opened while paging never shift a page. */
  list(q: ListAccountsQuery): KeysetList<AccountView, string> {
    const limit = parseLimit(q.limit);
    const cursor = decodeCursor(q.cursor, ['string']);
    checkCursorPart(cursor === null || ACCOUNT_CODE.test(String(cursor[0])));
    return keyedList(cursor ? String(cursor[0]) : null, limit, ACCOUNT_CSV, {
      read: (after, n) => this.accounts.page({ after, currency: q.currency, namespace: q.namespace, limit: n }),
      view: (r) => accountView(toAccount(r)),
      key: (a) => a.code,
    });
  }

  /**
   * Balances as of a moment (default now), from the balance history, once that moment is final (docs/time.md):
   * the answer for a given `asOf` never changes. Before the account opened: 404.
   */
  async get(code: string, q: AccountQuery): Promise<AccountView & { asOf: string }> {
    const asOf = parseInstant('asOf', q.asOf);
    if (!ACCOUNT_CODE.test(code)) throw badField('code', ACCOUNT_CODE_MESSAGE);
    // The cut first: on a replica, one that has replayed past it knows every account open at it.
    const cut = await this.clock.finalCut(asOf);
    const account = await this.find(code);
    const balances = await balancesAsOf(this.clock, this.journal, account.id, cut);
    if (!balances) throw notFound(`account ${code} as of ${msIso(cut)}`);
    return { ...accountView(account, { normalSide: account.normalSide, ...balances }), asOf: msIso(cut) };
  }

  /** Oldest first by entry id (a sequence), so entries written while paging land after the cursor, never before. */
  async entries(code: string, q: TimeRangeListQuery): Promise<KeysetList<EntryView, number>> {
    const limit = parseLimit(q.limit);
    const { from, to } = parseRange(q);
    const cursor = decodeCursor(q.cursor, ['integer']);
    // Entries of one account are written under its lock, so their ids follow commit order; only `to` needs a wait.
    // The cut before the lookup: on a replica, one that has replayed past it knows every account open at it.
    await this.clock.notArchived(from);
    if (to) await this.clock.finalBefore(to);
    const account = await this.find(code);
    return keyedList(cursor ? Number(cursor[0]) : null, limit, ENTRY_CSV, {
      read: (after, n) =>
        this.journal.accountEntries({
          accountId: account.id,
          after: after ?? 0,
          fromIso: from?.iso ?? null,
          toIso: to?.iso ?? null,
          limit: n,
        }),
      view: entryView,
      key: (e) => Number(e.id),
    });
  }

  private async find(code: string): Promise<Account> {
    if (!ACCOUNT_CODE.test(code)) throw badField('code', ACCOUNT_CODE_MESSAGE);
    const row = await this.accounts.read(code);
    if (!row) throw notFound(`account ${code}`);
    return toAccount(row);
  }
}
