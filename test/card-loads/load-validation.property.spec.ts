import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import fc from 'fast-check';
import { CreateCardLoadDto, isValidLoad } from '../../src/card-loads/card-load.dto';

/** What the single-load endpoint's ValidationPipe decides (the same options as the batch fallback). */
async function decoratorsAccept(v: Record<string, unknown>): Promise<boolean> {
  const errors = await validate(plainToInstance(CreateCardLoadDto, v), {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  return errors.length === 0;
}

// Each field from a pool of valid values, near misses and wrong types.
const text = (n: number) => 'x'.repeat(n);
const field = {
  enKashCardId: ['EKCMB7KAEW', 'EKC1234567', 'ekcmb7kaew', 'EKCMB7KAE', 'EKCMB7KAEWX', '', 42, null],
  amount: ['1500.00', '0.01', '1', '1.5', 10, 2.5, '0', '0.00', '1.001', '-1', '1e3', ' 1', '9007199254740992', 1.001, NaN, null, true],
  currency: ['INR', 'inr', 'USD', '', 1, null],
  companyId: ['CEKEP5GSGP', 'CEKEP5GSG', 'cekep5gsgp', 7, null],
  cardAccountId: ['CABFIPS', 'CA1', 'CA', 'cabfips', 'CA' + 'A'.repeat(31), null],
  description: ['payroll', '', text(255), text(256), 5, null],
  remarks: ['batch 42', text(255), text(256), [], null],
  metadata: [
    {},
    { employee: 'E1' },
    { 'bad key': 'x' },
    { k: 1 },
    { k: text(501) },
    { [text(41)]: 'x' },
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, text(450)])),
    Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])),
    [],
    'x',
    null,
  ],
  status: ['posted'],
  extra: [1],
};
type Field = keyof typeof field;
const load = fc.record(
  Object.fromEntries(Object.entries(field).map(([k, pool]) => [k, fc.constantFrom(...(pool as unknown[]))])) as Record<
    Field,
    fc.Arbitrary<unknown>
  >,
  { requiredKeys: [] },
);

describe('bulk intake fast validation', () => {
  it('should never accept a load the decorators refuse', async () => {
    await fc.assert(
      fc.asyncProperty(load, async (v) => {
        if (isValidLoad(v)) expect(await decoratorsAccept(v)).toBe(true);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('should accept every load that has only well-formed fields (so valid batches never pay for class-validator)', async () => {
    const good = fc.record(
      {
        enKashCardId: fc.constantFrom('EKCMB7KAEW', 'EKC1234567'),
        amount: fc.constantFrom('1500.00', '0.01', 10, 2.5),
        currency: fc.constant('INR'),
        companyId: fc.constant('CEKEP5GSGP'),
        cardAccountId: fc.constantFrom('CABFIPS', 'CA1'),
        description: fc.string({ maxLength: 255 }),
        remarks: fc.string({ maxLength: 255 }),
        metadata: fc.dictionary(fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/), fc.string({ maxLength: 360 }), { maxKeys: 20 }),
      },
      { requiredKeys: ['enKashCardId', 'amount'] },
    );
    await fc.assert(
      fc.asyncProperty(good, async (v) => {
        expect(isValidLoad(v)).toBe(true);
        expect(await decoratorsAccept(v)).toBe(true);
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
