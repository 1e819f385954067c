import { useTestApp } from '../support/app';
import { csvObjects } from '../support/csv';

type Load = { id: string; createdAt: string };
type Entry = { id: string };

/**
 * Keyset cursors against a moving list: loads keep arriving while an auditor pages. Every row that existed
 * when paging began must be seen exactly once, and no row twice, whatever arrives in between.
 */
describe('cursors while new loads arrive', () => {
  const ctx = useTestApp({ db: false });
  let n = 0;
  const createLoad = async () => {
    const card = `EKCPAGE00${n % 2}`;
    const r = await ctx.app.api('POST', '/v1/card-loads', {
      body: { enKashCardId: card, amount: `${1 + (n % 7)}.00`, cardAccountId: 'CAPAGE' },
      headers: { 'idempotency-key': `page-${n++}` },
    });
    expect(r.status).toBe(201);
    return r.body as Load;
  };

  /** Runs `pager` while two writers keep adding loads; returns what the pager saw. */
  async function whileLoadsArrive<T>(pager: () => Promise<T>): Promise<{ seen: T; written: number }> {
    let stop = false;
    let written = 0;
    const writer = async () => {
      while (!stop) {
        await createLoad();
        written++;
      }
    };
    const writers = [writer(), writer()];
    try {
      return { seen: await pager(), written };
    } finally {
      stop = true;
      await Promise.all(writers);
    }
  }

  async function walk<T>(path: string, limit: number): Promise<T[]> {
    const rows: T[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const r = await ctx.app.api('GET', `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      rows.push(...r.body.data);
      cursor = r.body.nextCursor;
      if (!cursor) return rows;
      await new Promise((resolve) => setTimeout(resolve, 5)); // let writes land between pages
    }
    throw new Error('paging did not end');
  }

  beforeAll(async () => {
    for (let i = 0; i < 30; i++) await createLoad();
  });

  it('should page GET /v1/card-loads (newest first) without missing or repeating a load', async () => {
    const before: Load[] = (await ctx.app.api('GET', '/v1/card-loads?limit=500')).body.data;
    const { seen, written } = await whileLoadsArrive(() => walk<Load>('/v1/card-loads', 4));
    expect(written).toBeGreaterThan(0);
    const ids = seen.map((l) => l.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(before.map((l) => l.id)));
    for (let i = 1; i < seen.length; i++) expect(seen[i].createdAt <= seen[i - 1].createdAt).toBe(true);
  });

  it('should page GET /v1/accounts/{code}/entries (oldest first) without missing or repeating an entry', async () => {
    const before: Entry[] = (await ctx.app.api('GET', '/v1/accounts/parent:CAPAGE/entries?limit=500')).body.data;
    const { seen } = await whileLoadsArrive(() => walk<Entry>('/v1/accounts/parent:CAPAGE/entries', 5));
    const ids = seen.map((e) => BigInt(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    // Entries committed before paging began are all there; one still in flight then may commit below the cursor.
    expect(seen.map((e) => e.id)).toEqual(expect.arrayContaining(before.map((e) => e.id)));
  });

  it('should page a card history as a gap-free sequence, and export CSV of every load, while loads arrive', async () => {
    const { seen } = await whileLoadsArrive(async () => ({
      history: await walk<{ seq: number }>('/v1/cards/EKCPAGE000/history', 3),
      before: ((await ctx.app.api('GET', '/v1/card-loads?limit=500')).body.data as Load[]).map((l) => l.id),
      csv: csvObjects((await ctx.app.api('GET', '/v1/card-loads?format=csv')).text),
    }));
    expect(seen.history.map((h) => h.seq)).toEqual(seen.history.map((_, i) => i + 1));
    const csvIds = seen.csv.map((r) => r.id);
    expect(new Set(csvIds).size).toBe(csvIds.length);
    expect(csvIds).toEqual(expect.arrayContaining(seen.before));
    const now: Load[] = (await ctx.app.api('GET', '/v1/card-loads?limit=500')).body.data;
    expect(now.map((l) => l.id)).toEqual(expect.arrayContaining(csvIds));
  });
});
