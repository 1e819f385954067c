import { ACCOUNT_CODE } from '../../src/accounts/account.dto';
import { inTransaction } from '../../src/database/transaction';
import { LedgerService } from '../../src/ledger/ledger.service';
import { AlreadyResolvedError, InsufficientFundsError } from '../../src/ledger/ledger.errors';
import { AuditVerifierService } from '../../src/ledger/audit-verifier.service';
import { PartitionsStore } from '../../src/ledger/partitions/partitions.store';
import { SealerService } from '../../src/ledger/sealer.service';
import { contentHash } from '../../src/ledger/journal-seal';
import { SealsStore } from '../../src/ledger/seals.store';
import { AuditStore } from '../../src/ledger/audit.store';
import { AuditEventsStore } from '../../src/audit-trail/audit-events.store';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { useTestLedger } from '../support/ledger';
import { databaseRefusal } from '../support/refusals';

describe(LedgerService.name, () => {
  const ctx = useTestLedger(10);

  beforeAll(async () => {
    await inTransaction(ctx.ds, (m) =>
      ctx.ledger.ensureAccounts(m, [
        { code: 'external:funding', currency: 'INR', normalSide: 'debit' },
        { code: 'parent:CATEST', currency: 'INR', normalSide: 'credit', noOverdraft: true },
        { code: 'card:EKCTEST001', currency: 'INR', normalSide: 'credit' },
        { code: 'card:EKCTEST002', currency: 'INR', normalSide: 'credit' },
      ]),
    );
  });

  const fund = (amount: bigint) =>
    inTransaction(ctx.ds, (m) =>
      ctx.ledger.createTransfer(m, {
        kind: 'posted',
        event: 'journal',
        description: 'funding',
        entries: [
          { accountCode: 'external:funding', direction: 'debit', amount, currency: 'INR' },
          { accountCode: 'parent:CATEST', direction: 'credit', amount, currency: 'INR' },
        ],
      }),
    );
  const load = (card: string, amount: bigint) =>
    inTransaction(ctx.ds, (m) =>
      ctx.ledger.createTransfer(m, {
        kind: 'pending',
        event: 'load_pending',
        entries: [
          { accountCode: 'parent:CATEST', direction: 'debit', amount, currency: 'INR' },
          { accountCode: card, direction: 'credit', amount, currency: 'INR' },
        ],
      }),
    );

  it('should refuse a load beyond a noOverdraft parent with insufficient_funds and leave nothing behind', async () => {
    await fund(10_000n);
    await load('card:EKCTEST001', 6_000n);
    const before = await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`);
    await expect(load('card:EKCTEST002', 4_001n)).rejects.toBeInstanceOf(InsufficientFundsError);
    const after = await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    await load('card:EKCTEST002', 4_000n); // exactly the available balance is fine
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  it('should resolve a pending transfer at most once, even when 10 resolvers race', async () => {
    await fund(5_000n);
    const pending = await load('card:EKCTEST001', 5_000n);
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        inTransaction(ctx.ds, (m) =>
          i % 2 ? ctx.ledger.postPending(m, pending.id, 'load_posted', null) : ctx.ledger.voidPending(m, pending.id, 'load_reversed', null),
        ),
      ),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const a of attempts) if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(AlreadyResolvedError);
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  it('should undo a posted transfer with an opposite posted transfer, and only once', async () => {
    await fund(1_000n);
    const pending = await load('card:EKCTEST002', 1_000n);
    const posted = await inTransaction(ctx.ds, (m) => ctx.ledger.postPending(m, pending.id, 'load_posted', null));
    const undo = await inTransaction(ctx.ds, (m) => ctx.ledger.undoPosted(m, posted.id, 'load_undone', null, 'operator decision'));
    expect(undo.entries.map((e) => e.direction)).toEqual(['credit', 'debit']);
    await expect(inTransaction(ctx.ds, (m) => ctx.ledger.undoPosted(m, posted.id, 'load_undone', null, 'again'))).rejects.toThrow(
      /already undone/,
    );
    expectNoViolations(await ledgerViolations(ctx.db));
  });

  it('should let the database refuse an unbalanced transaction written by hand', async () => {
    const acc = await ctx.db.query(`SELECT id FROM accounts WHERE code = 'card:EKCTEST001'`);
    // A transaction without entries, then one with a single entry: each refused by the statement writing it.
    await expect(
      ctx.db.query(`INSERT INTO journal_transactions (id, kind) VALUES ('00000000-0000-4000-8000-000000000001', 'posted')`),
    ).rejects.toThrow(/0 entries; at least two/);
    const oneSided = (amounts: number[]) =>
      ctx.db.query(
        `WITH t AS (INSERT INTO journal_transactions (id, kind) VALUES ('00000000-0000-4000-8000-000000000001', 'posted') RETURNING id)
       INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
       SELECT t.id, $1, d, a, 'INR' FROM t, unnest($2::int[], $3::text[]) AS x(a, d)`,
        [acc.rows[0].id, amounts, amounts.map((_, i) => (i === 0 ? 'debit' : 'credit'))],
      );
    await expect(oneSided([100])).rejects.toThrow(/1 entries; at least two/);
    await expect(oneSided([100, 99])).rejects.toThrow(/does not balance/);
    // Balanced but over the ledger's bound of 100 entries (readers fetch at most that many).
    await expect(oneSided([100, ...new Array(100).fill(1)])).rejects.toThrow(/101 entries; at most 100/);
    // Entries appended later to a committed, balanced transaction are checked too: they carry a later moment than
    // their transaction's, which is refused before their balance is (the moment is the partition key of lookups).
    const committed = await ctx.db.query(`SELECT id FROM journal_transactions LIMIT 1`);
    await expect(
      ctx.db.query(
        `INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
      VALUES ($1, $2, 'debit', 100, 'INR')`,
        [committed.rows[0].id, acc.rows[0].id],
      ),
    ).rejects.toThrow(/another moment than its own/);
    expect(
      (await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions WHERE id = '00000000-0000-4000-8000-000000000001'`)).rows[0]
        .n,
    ).toBe(0);
  });

  it('should let the database refuse an entry or history row whose account or transaction does not exist (invariant 11)', async () => {
    const acc = await ctx.db.query(`SELECT id, history_seq FROM accounts WHERE code = 'card:EKCTEST001'`);
    const { id, history_seq: seq } = acc.rows[0];
    const nowhere = '00000000-0000-4000-8000-0000000000ff';
    const entriesOf = (table: string) =>
      ctx.db.query(
        `INSERT INTO ${table} (transaction_id, account_id, direction, amount, currency, created_at)
         SELECT $1, $2, d, 100, 'INR', now() FROM unnest(ARRAY['debit', 'credit']) AS d`,
        [nowhere, id],
      );
    // Through the parent, and straight into this month's partition (its own statement trigger).
    const [{ part }] = (
      await ctx.db.query(`SELECT part FROM ledger_partitions() WHERE parent = 'journal_entries' AND now() >= lo AND now() < hi`)
    ).rows;
    for (const table of ['journal_entries', part]) {
      expect(await databaseRefusal(entriesOf(table))).toBe('23503 journal_entries_transaction_id_fkey');
    }
    const withAccount = (account: number) =>
      ctx.db.query(
        `WITH t AS (INSERT INTO journal_transactions (id, kind) VALUES ('00000000-0000-4000-8000-000000000004', 'posted') RETURNING id)
         INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
         SELECT t.id, a, d, 100, 'INR' FROM t, unnest($1::bigint[], $2::text[]) AS x(a, d)`,
        [
          [id, account],
          ['debit', 'credit'],
        ],
      );
    expect(await databaseRefusal(withAccount(987654321))).toBe('23503 journal_entries_account_id_fkey');
    // An opening row (sequence 0) for no account; a row that continues the chain but names no transaction.
    const opening = ctx.db.query(
      `INSERT INTO account_history (account_id, seq, event, pending_debits, pending_credits, posted_debits, posted_credits)
       VALUES (987654321, 0, 'opening', 0, 0, 0, 0)`,
    );
    expect(await databaseRefusal(opening)).toBe('23503 account_history_account_id_fkey');
    const continued = ctx.db.query(
      `INSERT INTO account_history (account_id, seq, event, transaction_id, pending_debits, pending_credits, posted_debits, posted_credits)
       SELECT account_id, seq + 1, 'journal', $3, pending_debits, pending_credits, posted_debits, posted_credits
       FROM account_history WHERE account_id = $1 AND seq = $2`,
      [id, seq, nowhere],
    );
    expect(await databaseRefusal(continued)).toBe('23503 account_history_transaction_id_fkey');
  });

  it('should let the database refuse zero, negative and mismatched-currency entries', async () => {
    const acc = await ctx.db.query(`SELECT id FROM accounts WHERE code IN ('card:EKCTEST001', 'card:EKCTEST002') ORDER BY id`);
    for (const amount of [0, -5]) {
      await expect(
        ctx.db.query(
          `WITH t AS (INSERT INTO journal_transactions (id, kind) VALUES ('00000000-0000-4000-8000-000000000002', 'posted') RETURNING id)
        INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
        SELECT t.id, $1, d, $2, 'INR' FROM t, unnest(ARRAY['debit', 'credit']) AS d`,
          [acc.rows[0].id, amount],
        ),
      ).rejects.toThrow(/check constraint/);
    }
    await expect(
      ctx.db.query(
        `WITH t AS (INSERT INTO journal_transactions (id, kind) VALUES ('00000000-0000-4000-8000-000000000003', 'posted') RETURNING id)
      INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
      SELECT t.id, a, d, 100, 'USD' FROM t, unnest($1::bigint[], $2::text[]) AS x(a, d)`,
        [
          [acc.rows[0].id, acc.rows[1].id],
          ['debit', 'credit'],
        ],
      ),
    ).rejects.toThrow(/currency/);
  });

  it('should let the database accept exactly the account codes the API accepts (accounts_code_check)', async () => {
    const tail = (n: number) => 'A'.repeat(n);
    const edges = [
      `card:${tail(100)}`, // the longest part after the colon
      `card:${tail(101)}`,
      `a:${tail(1)}`,
      `a_1:B.c-d:e_${tail(90)}`, // colons after the first one belong to the part after it
      `a_1:B.c-d:e_${tail(89)}`,
      `card:.x`,
      `Card:X`,
      `card:`,
      `card`,
      `1card:X`,
      `card:X\nY`,
      `card:X Y`,
      `card:X\n`,
    ];
    let seed = 17;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const pick = (chars: string) => chars[next(chars.length)];
    // Mostly well-formed codes near the length bound, each with a chance of one flaw anywhere.
    const random = Array.from({ length: 400 }, () => {
      const prefix = pick('acz') + Array.from({ length: next(4) }, () => pick('az09_')).join('');
      const rest = pick('AZ09.') + Array.from({ length: next(2) ? 97 + next(6) : next(5) }, () => pick('aZ09_.:-')).join('');
      const code = `${prefix}:${rest}`;
      const at = next(code.length + 1);
      return next(3) ? code : code.slice(0, at) + pick(' \nA:_.-1') + code.slice(at);
    });
    const codes = [...new Set([...edges, ...random])];
    const accepted = new Map<string, boolean>();
    await ctx.db.query('BEGIN');
    try {
      for (const code of codes) {
        await ctx.db.query('SAVEPOINT s');
        const ok = await ctx.db.query(`INSERT INTO accounts (code, currency, normal_side) VALUES ($1, 'INR', 'credit')`, [code]).then(
          () => true,
          (e: { code?: string; constraint?: string }) => {
            if (e.code !== '23514' || e.constraint !== 'accounts_code_check') throw e;
            return false;
          },
        );
        await ctx.db.query('ROLLBACK TO SAVEPOINT s');
        accepted.set(code, ok);
      }
    } finally {
      await ctx.db.query('ROLLBACK');
    }
    const disagreements = codes.filter((c) => accepted.get(c) !== ACCOUNT_CODE.test(c));
    expect(disagreements).toEqual([]);
    expect(codes.filter((c) => accepted.get(c)).length).toBeGreaterThan(20);
    expect(codes.filter((c) => !accepted.get(c)).length).toBeGreaterThan(20);
  });

  it('should let ledger_apply_deltas refuse a batch of moves it cannot write, before writing any of it', async () => {
    const ids = Object.fromEntries(
      (await ctx.db.query(`SELECT code, id::int AS id FROM accounts`)).rows.map((r: { code: string; id: number }) => [r.code, r.id]),
    );
    const [parent, card] = [ids['parent:CATEST'], ids['card:EKCTEST002']];
    const unknown = Math.max(...Object.values(ids)) + 1000;
    const history = async () => (await ctx.db.query(`SELECT count(*)::int AS n FROM account_history`)).rows[0].n as number;
    const before = await history();
    const apply = async (accounts: number[], pendingDebits: number[], pendingCredits: number[]) => {
      const n = accounts.length;
      await ctx.db.query('BEGIN');
      try {
        return await databaseRefusal(
          ctx.db.query(
            `SELECT ledger_apply_deltas($1::uuid[], $2::text[], $3::uuid[], $4::bigint[],
             $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])`,
            [
              Array(n).fill('00000000-0000-4000-8000-0000000000a1'),
              Array(n).fill('journal'),
              Array(n).fill(null),
              accounts,
              pendingDebits,
              pendingCredits,
              Array(n).fill(0),
              Array(n).fill(0),
            ],
          ),
        );
      } finally {
        await ctx.db.query('ROLLBACK');
      }
    };
    const [lo, hi] = parent < card ? [parent, card] : [card, parent];
    expect(await apply([hi, lo], [0, 0], [0, 0])).toBe('P0001 ledger_apply_deltas: account ids must be ascending');
    expect(await apply([lo, unknown], [0, 0], [0, 0])).toBe(`P0001 ledger_apply_deltas: account ${unknown} does not exist`);
    // The first of two moves of one account takes its pending credits below zero, the second back: only the running
    // sum sees it (the balances' CHECKs see the end of the statement).
    expect(await apply([card, card], [0, 0], [-1e15, 1e15])).toBe(`P0001 ledger_apply_deltas: account ${card} would have a negative sum`);
    // More pending out of the noOverdraft parent than it holds.
    expect(await apply([parent], [1e15], [0])).toBe('23514 accounts_no_overdraft');
    expect(await history()).toBe(before);
  });

  it('should refuse UPDATE, DELETE and TRUNCATE on entries, history, transactions and seals', async () => {
    await new SealerService(ctx.ds, new SealsStore(ctx.ds)).sealPending();
    for (const table of ['journal_entries', 'account_history', 'journal_transactions', 'journal_seals']) {
      const column = table === 'account_history' ? 'event' : table === 'journal_seals' ? 'sealed_at' : 'created_at';
      await expect(ctx.db.query(`UPDATE ${table} SET ${column} = ${table === 'account_history' ? "'journal'" : 'now()'}`)).rejects.toThrow(
        /append-only/,
      );
      await expect(ctx.db.query(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
      await expect(ctx.db.query(`TRUNCATE ${table} CASCADE`)).rejects.toThrow(/append-only/);
    }
    await expect(ctx.db.query(`UPDATE account_history SET posted_credits = posted_credits + 1`)).rejects.toThrow(/append-only/);
  });

  it('should refuse a history row that does not continue the previous one', async () => {
    const acc = await ctx.db.query(`SELECT id, history_seq FROM accounts WHERE code = 'card:EKCTEST001'`);
    await expect(
      ctx.db.query(
        `INSERT INTO account_history
        (account_id, seq, event, d_posted_credits, pending_debits, pending_credits, posted_debits, posted_credits)
      VALUES ($1, $2, 'journal', 5, 0, 0, 0, 999999)`,
        [acc.rows[0].id, Number(acc.rows[0].history_seq) + 1],
      ),
    ).rejects.toThrow(/does not continue/);
    await expect(
      ctx.db.query(
        `INSERT INTO account_history (account_id, seq, event, pending_debits, pending_credits, posted_debits, posted_credits)
      VALUES ($1, $2, 'journal', 0, 0, 0, 0)`,
        [acc.rows[0].id, Number(acc.rows[0].history_seq) + 5],
      ),
    ).rejects.toThrow(/does not continue/);
  });

  it('should report the first failing check of a trigger when one statement breaks several', async () => {
    // Each trigger checks in a fixed order, and callers (and tests) read the first refusal's code and constraint: a
    // rewrite of a trigger must keep the order. Each case below breaks two checks at once.
    const acc = await ctx.db.query(`SELECT id, history_seq FROM accounts WHERE code = 'card:EKCTEST001'`);
    const { id, history_seq: seq } = acc.rows[0];
    const nowhere = '00000000-0000-4000-8000-0000000000fe';
    const entries = (currencies: string[], amounts: number[]) =>
      ctx.db.query(
        `WITH t AS (INSERT INTO journal_transactions (id, kind) VALUES ('00000000-0000-4000-8000-000000000005', 'posted') RETURNING id)
         INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency)
         SELECT t.id, $1, d, a, c FROM t, unnest($2::text[], $3::int[], $4::text[]) AS x(c, a, d)`,
        [id, currencies, amounts, ['debit', 'credit']],
      );
    // Unbalanced, and an entry in another currency than its account's: the balance is checked first.
    expect(await databaseRefusal(entries(['INR', 'USD'], [100, 99]), true)).toMatch(/^23514 journal_balanced .*does not balance/);
    // A transaction that does not exist, named by entries of an account that does not exist: the transaction first.
    expect(
      await databaseRefusal(
        ctx.db.query(
          `INSERT INTO journal_entries (transaction_id, account_id, direction, amount, currency, created_at)
           SELECT $1, 987654321, d, 100, 'INR', now() FROM unnest(ARRAY['debit', 'credit']) AS d`,
          [nowhere],
        ),
        true,
      ),
    ).toMatch(/^23503 journal_entries_transaction_id_fkey /);
    // A resolution without entries that names no pending transfer: the entries first.
    expect(
      await databaseRefusal(
        ctx.db.query(
          `INSERT INTO journal_transactions (id, kind, pending_id) VALUES ('00000000-0000-4000-8000-000000000006', 'void_pending', $1)`,
          [nowhere],
        ),
        true,
      ),
    ).toMatch(/^23514 journal_balanced .*0 entries/);
    // An opening row that is not zero, for an account that does not exist: the chain first.
    expect(
      await databaseRefusal(
        ctx.db.query(
          `INSERT INTO account_history (account_id, seq, event, pending_debits, pending_credits, posted_debits, posted_credits)
           VALUES (987654321, 0, 'opening', 5, 0, 0, 0)`,
        ),
        true,
      ),
    ).toMatch(/^23514 account_history_chain opening history row must be zero/);
    // A row that does not continue the chain and names no transaction: the chain first.
    expect(
      await databaseRefusal(
        ctx.db.query(
          `INSERT INTO account_history
             (account_id, seq, event, transaction_id, pending_debits, pending_credits, posted_debits, posted_credits)
           VALUES ($1, $2, 'journal', $3, 0, 0, 0, 999999)`,
          [id, Number(seq) + 1, nowhere],
        ),
        true,
      ),
    ).toMatch(/^23514 account_history_chain .*does not continue/);
  });

  it('should seal every transaction into a chain that verifies, and name the one a superuser edited', async () => {
    const sealer = new SealerService(ctx.ds, new SealsStore(ctx.ds));
    const verifier = new AuditVerifierService(
      new SealsStore(ctx.ds),
      new AuditStore(ctx.ds),
      new AuditEventsStore(ctx.ds),
      new PartitionsStore(ctx.ds),
    );
    await load('card:EKCTEST001', 1n);
    await sealer.sealPending();
    const ok = await verifier.verify({ batch: 7 }); // small batches exercise the paging of the walk
    expect(ok).toMatchObject({ ok: true, unsealedTransactions: 0 });
    const total = await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`);
    expect(ok.checkedTransactions).toBe(total.rows[0].n);

    const victim = await ctx.db.query(`SELECT s.transaction_id, s.seq FROM journal_seals s ORDER BY seq LIMIT 1 OFFSET 3`);
    await ctx.db.query(`SET session_replication_role = replica`); // a superuser bypassing the triggers
    await ctx.db.query(`UPDATE journal_entries SET amount = amount + 100 WHERE transaction_id = $1`, [victim.rows[0].transaction_id]);
    await ctx.db.query(`SET session_replication_role = origin`);
    const broken = await verifier.verify();
    expect(broken).toMatchObject({ ok: false, brokenAt: victim.rows[0].transaction_id, seq: Number(victim.rows[0].seq) });
  });

  it('should name a transaction edited before it was sealed (the writer hashed it when it wrote it)', async () => {
    const victim = await load('card:EKCTEST001', 3n);
    await ctx.db.query(`SET session_replication_role = replica`);
    await ctx.db.query(`UPDATE journal_entries SET amount = amount + 100 WHERE transaction_id = $1`, [victim.id]);
    await ctx.db.query(`SET session_replication_role = origin`);
    await new SealerService(ctx.ds, new SealsStore(ctx.ds)).sealPending();
    // The verifier stops at the first broken link (the test above left one), so compare this seal directly.
    const [seal] = (await ctx.db.query(`SELECT content_hash FROM journal_seals WHERE transaction_id = $1`, [victim.id])).rows;
    const stored = (await new SealsStore(ctx.ds).content(ctx.ds.manager, [victim.id])).get(victim.id)!;
    expect(contentHash(stored).equals(seal.content_hash)).toBe(false);
    stored.entries = stored.entries.map((e) => ({ ...e, amount: String(BigInt(e.amount) - 100n) })); // as written
    expect(contentHash(stored).equals(seal.content_hash)).toBe(true);
  });

  it('should seal what the database stored, whatever the text, and rows queued without a hash (an older instance)', async () => {
    const sealer = new SealerService(ctx.ds, new SealsStore(ctx.ds));
    const verifier = new AuditVerifierService(
      new SealsStore(ctx.ds),
      new AuditStore(ctx.ds),
      new AuditEventsStore(ctx.ds),
      new PartitionsStore(ctx.ds),
    );
    await ctx.db.query(`SET session_replication_role = replica`); // a fresh chain over the content as it now stands
    await ctx.db.query(`DELETE FROM journal_seals`);
    await ctx.db.query(`INSERT INTO journal_unsealed (transaction_id, created_at) SELECT id, created_at FROM journal_transactions
                   WHERE id NOT IN (SELECT transaction_id FROM journal_unsealed)`);
    await ctx.db.query(`SET session_replication_role = origin`);
    // Lone surrogates become U+FFFD on the way in; quotes, backslashes, emoji, combining marks and RTL stay as sent.
    for (const description of [
      '\ud800 lone',
      'tail \udfff',
      '"quoted" \\ back\\slash',
      'emoji 💳 and é (e + \u0301)',
      'עברית',
      ' spaced ',
    ]) {
      await inTransaction(ctx.ds, (m) =>
        ctx.ledger.createTransfer(m, {
          kind: 'posted',
          event: 'journal',
          description,
          metadata: { note: description.replace(/[\ud800-\udfff]/g, '?'), 'k.2': '₹ 1,500' },
          entries: [
            { accountCode: 'external:funding', direction: 'debit', amount: 1n, currency: 'INR' },
            { accountCode: 'parent:CATEST', direction: 'credit', amount: 1n, currency: 'INR' },
          ],
        }),
      );
    }
    const queued = await ctx.db.query(
      `SELECT count(*) FILTER (WHERE content_hash IS NULL)::int AS old, count(content_hash)::int AS hashed FROM journal_unsealed`,
    );
    expect(queued.rows[0].hashed).toBe(6); // the six above, hashed by their writer; the re-queued rest by the sealer
    expect(queued.rows[0].old).toBeGreaterThan(0);
    await sealer.sealPending();
    const all = await ctx.db.query(`SELECT count(*)::int AS n FROM journal_transactions`);
    // The chain holds over what is stored (an earlier test edited entries, which the balance checks still name).
    const r = await verifier.verify();
    expect(r).toMatchObject({ checkedTransactions: all.rows[0].n, unsealedTransactions: 0 });
    expect(r.findings.filter((f) => f.check === 'chain')).toEqual([]);
  });

  it('should seal concurrently written transactions without losing or duplicating any', async () => {
    const sealers = [new SealerService(ctx.ds, new SealsStore(ctx.ds)), new SealerService(ctx.ds, new SealsStore(ctx.ds))];
    await Promise.all([...Array.from({ length: 30 }, () => fund(10n)), ...sealers.map((s) => s.sealPending())]);
    await sealers[0].sealPending();
    const { rows } = await ctx.db
      .query(`SELECT (SELECT count(*) FROM journal_transactions)::int AS txs, (SELECT count(*) FROM journal_seals)::int AS seals,
      (SELECT count(*) FROM journal_unsealed)::int AS unsealed, (SELECT max(seq) FROM journal_seals)::int AS maxseq`);
    expect(rows[0]).toEqual({ txs: rows[0].seals, seals: rows[0].txs, unsealed: 0, maxseq: rows[0].txs });
  });
});
