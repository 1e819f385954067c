import fc from 'fast-check';
import { asStored, contentHash } from '../../src/ledger/journal-seal';
import { useTestLedger } from '../support/ledger';

/**
 * journal_content_hash (migration 1765400000000, docs/design.md "Content hashed where it is written") is
 * journal-seal.ts's contentHash written in SQL, for transactions without metadata. The sealer seals what it finds in
 * the queue and the verifier recomputes in Node from the stored rows: if the two forms differed on any text a
 * caller can send (a description is the caller's own), every such load would read as tampered with. So they are
 * compared here over arbitrary text, and over the characters where JSON encoders are known to differ.
 */
describe('journal_content_hash in SQL', () => {
  const ctx = useTestLedger(1);

  interface Sample {
    id: string;
    kind: string;
    pendingId: string | null;
    undoesId: string | null;
    description: string | null;
    createdAt: string;
    entries: Array<{ code: string; direction: string; amount: string; currency: string }>;
  }

  const sqlHash = async (s: Sample): Promise<Buffer> => {
    const { rows } = await ctx.db.query<{ h: Buffer }>(
      `SELECT journal_content_hash($1::uuid, $2, $3::uuid, $4::uuid, $5, $6::timestamptz,
         $7::text[], $8::text[], $9::text[], $10::text[]) AS h`,
      [
        s.id,
        s.kind,
        s.pendingId,
        s.undoesId,
        s.description,
        s.createdAt,
        s.entries.map((e) => e.code),
        s.entries.map((e) => e.direction),
        s.entries.map((e) => e.amount),
        s.entries.map((e) => e.currency),
      ],
    );
    return rows[0].h;
  };

  const nodeHash = (s: Sample): Buffer =>
    contentHash({
      id: s.id,
      kind: s.kind,
      pending_id: s.pendingId,
      undoes_id: s.undoesId,
      description: s.description === null ? null : asStored(s.description),
      metadata: {},
      // The verifier reads created_at back as UTC with six fraction digits.
      created_at_utc: s.createdAt,
      entries: s.entries.map((e) => ({ ...e, code: asStored(e.code) })),
    });

  /** Text Postgres can store: anything but NUL (a lone surrogate is stored as U+FFFD, which asStored mirrors). */
  const text = fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({
        unit: fc.constantFrom(
          '"',
          '\\',
          '/',
          '\b',
          '\f',
          '\n',
          '\r',
          '\t',
          '\u0001',
          '\u001f',
          '\u007f',
          '\u0080',
          '\u2028',
          '\u2029',
          '\ufeff',
          '\ufffd',
          '\ud83d',
          '\ude00',
          '😀',
          'é',
          'e\u0301',
          '<',
          '>',
          '&',
          "'",
          ' ',
          'a',
        ),
        maxLength: 30,
      }),
    )
    .map((t) => t.split('\u0000').join(''));
  const moment = fc
    .tuple(fc.integer({ min: 0, max: 4102444800000 - 1 }), fc.integer({ min: 0, max: 999 }))
    .map(([ms, us]) => new Date(ms).toISOString().replace('Z', `${String(us).padStart(3, '0')}Z`));
  const sample: fc.Arbitrary<Sample> = fc.record({
    id: fc.uuid(),
    kind: fc.constantFrom('pending', 'post_pending', 'void_pending', 'posted'),
    pendingId: fc.option(fc.uuid(), { nil: null }),
    undoesId: fc.option(fc.uuid(), { nil: null }),
    description: fc.option(text, { nil: null }),
    createdAt: moment,
    entries: fc.array(
      fc.record({
        code: text,
        direction: fc.constantFrom('debit', 'credit'),
        amount: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
        currency: fc.constantFrom('INR', 'USD', 'EUR'),
      }),
      { maxLength: 4 },
    ),
  });

  it('should give the hash journal-seal.ts gives, over arbitrary text, moments and entries', async () => {
    await fc.assert(
      fc.asyncProperty(sample, async (s) => {
        expect((await sqlHash(s)).toString('hex')).toBe(nodeHash(s).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('should agree on every control character, one at a time', async () => {
    const base: Sample = {
      id: '00000000-0000-4000-8000-000000000001',
      kind: 'pending',
      pendingId: null,
      undoesId: null,
      description: null,
      createdAt: '2026-03-05T10:03:00.123000Z',
      entries: [{ code: 'parent:CA1', direction: 'debit', amount: '100', currency: 'INR' }],
    };
    for (let c = 1; c < 0xa0; c++) {
      const s = { ...base, description: `x${String.fromCharCode(c)}y` };
      expect([c, (await sqlHash(s)).toString('hex')]).toEqual([c, nodeHash(s).toString('hex')]);
    }
  });
});
