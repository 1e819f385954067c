import { GroupCommit, Outcome } from '../../src/common/group-commit';

/**
 * The batching itself (src/common/group-commit.ts), with a write function that records its batches: what goes together.
 * What a batch writes is tested where it is written, against Postgres (test/card-loads, test/sync).
 */
function recorder(fail?: (batch: number[]) => boolean) {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | null = null;
  const group = new GroupCommit<number, number>(
    'test',
    async (batch) => {
      batches.push(batch);
      if (gate) await gate;
      if (fail?.(batch)) throw new Error(`batch ${batch.join(',')} refused`);
      return new Map<number, Outcome<number>>(batch.map((n) => [n, { ok: true, value: n * 10 }]));
    },
    3,
  );
  return {
    group,
    batches,
    hold: () => {
      gate = new Promise<void>((r) => (release = r));
    },
    release: () => {
      gate = null;
      release();
    },
  };
}

describe('GroupCommit', () => {
  it('should write what was submitted in one turn of the event loop as one batch, up to the bound', async () => {
    const r = recorder();
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => r.group.submit(n)))).toEqual([10, 20, 30, 40, 50]);
    expect(r.batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('should put what arrives while a batch is written into the next batch', async () => {
    const r = recorder();
    r.hold();
    const first = r.group.submit(1);
    await new Promise((done) => setImmediate(done));
    expect(r.batches).toEqual([[1]]);
    const later = [r.group.submit(2), r.group.submit(3)];
    r.release();
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30]);
    expect(r.batches).toEqual([[1], [2, 3]]);
  });

  it('should retry each item alone when a batch fails as a whole, so one bad item fails alone', async () => {
    const r = recorder((batch) => batch.includes(2));
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => r.group.submit(n)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(r.batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });
});
