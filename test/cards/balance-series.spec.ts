import { parseCsv } from '../support/csv';
import { createLoad, useSyncApp, waitFor } from '../sync/sync-harness';

/**
 * GET /v1/cards/{id}/balance-series (docs/console.md, "The balance chart"): the rows kept are real history rows,
 * chosen by M4 per time bucket; and the history's newest-first order and seq bounds the console's table and CSV use.
 */
type Row = { seq: number; at: string; pendingBalance: string; postedBalance: string };
type Point = Row;
const CARD = 'EKCSERIES1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a card's balance series and its history, newest first", () => {
  const ctx = useSyncApp();
  let rows: Row[]; // every history row, the opening row (seq 0) included, oldest first

  beforeAll(async () => {
    // Loads spread over time, settling while others arrive: pending rises and falls, posted rises.
    for (let i = 1; i <= 30; i++) {
      await createLoad(ctx.app, CARD, `${(i % 7) + 1}.${String(i).padStart(2, '0')}`);
      await sleep(i % 3 === 0 ? 60 : 5);
    }
    await waitFor(
      'every load to settle',
      async () => (await ctx.app.api('GET', `/v1/card-loads?enKashCardId=${CARD}&status=pending`)).body.data.length === 0,
    );
    const history = (await ctx.app.api('GET', `/v1/cards/${CARD}/history?limit=500`)).body.data as Row[];
    const whole = (await ctx.app.api('GET', `/v1/cards/${CARD}/balance-series?buckets=2000`)).body;
    const opening = whole.points[0];
    expect(opening).toMatchObject({ seq: 0, pendingBalance: '0.00', postedBalance: '0.00', at: whole.from });
    rows = [opening, ...history.map(({ seq, at, pendingBalance, postedBalance }) => ({ seq, at, pendingBalance, postedBalance }))];
    expect(rows.length).toBe(61);
  });

  /** M4 of `rows` over [from, to) in `buckets` buckets, computed here from the history the API pages through. */
  function m4(from: number, to: number, buckets: number): number[] {
    const kept = new Set<number>();
    const byBucket = new Map<number, Row[]>();
    for (const r of rows) {
      const t = Date.parse(r.at);
      if (t < from || t >= to) continue;
      const b = Math.floor(((t - from) / (to - from)) * buckets);
      byBucket.set(b, [...(byBucket.get(b) ?? []), r]);
    }
    const cents = (s: string) => Math.round(Number(s) * 100);
    for (const group of byBucket.values()) {
      kept.add(group[0].seq).add(group[group.length - 1].seq);
      for (const key of ['pendingBalance', 'postedBalance'] as const) {
        const lo = Math.min(...group.map((r) => cents(r[key])));
        const hi = Math.max(...group.map((r) => cents(r[key])));
        kept.add(group.find((r) => cents(r[key]) === lo)!.seq).add(group.find((r) => cents(r[key]) === hi)!.seq);
      }
    }
    return [...kept].sort((a, b) => a - b);
  }

  it("should keep, of one bucket, the first and last rows and each balance's lowest and highest, as the history shows them", async () => {
    const res = await ctx.app.api('GET', `/v1/cards/${CARD}/balance-series?buckets=1`);
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s).toMatchObject({ enKashCardId: CARD, currency: 'INR', buckets: 1, rule: 'm4', historyRows: rows.length, from: rows[0].at });
    const span = [Date.parse(s.from), Date.parse(s.to)];
    expect(s.points.map((p: Point) => p.seq)).toEqual(m4(span[0], span[1], 1));
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    for (const p of s.points as Point[]) expect(p).toEqual(bySeq.get(p.seq));
  });

  it('should keep the M4 rows of each bucket of any window, with the row in force at its start first', async () => {
    const times = rows.map((r) => Date.parse(r.at));
    // Bucket edges fall alike on the service's microseconds and on our milliseconds only away from every row: for
    // each bucket count, a window (between two rows) whose inner edges all lie in gaps between rows.
    const windowFor = (buckets: number): [number, number] | null => {
      for (let i = 2; i < 12; i++) {
        for (let j = rows.length - 2; j > rows.length - 12; j--) {
          const [first, last] = [times[i], times[j] + 1];
          const edges = Array.from({ length: buckets - 1 }, (_, k) => first + ((last - first) * (k + 1)) / buckets);
          if (!times.some((t) => edges.some((e) => Math.abs(t - e) < 3))) return [first, last];
        }
      }
      return null;
    };
    let checked = 0;
    for (const buckets of [2, 3, 4, 5, 7]) {
      const window = windowFor(buckets);
      if (!window) continue;
      const [first, last] = window;
      const from = new Date(first).toISOString();
      const to = new Date(last).toISOString();
      const s = (await ctx.app.api('GET', `/v1/cards/${CARD}/balance-series?from=${from}&to=${to}&buckets=${buckets}`)).body;
      expect([s.from, s.to]).toEqual([from, to]);
      const carried = rows.filter((r) => Date.parse(r.at) < first).pop()!;
      expect({ buckets, seqs: s.points.map((p: Point) => p.seq) }).toEqual({ buckets, seqs: [carried.seq, ...m4(first, last, buckets)] });
      expect(s.historyRows).toBe(times.filter((t) => t >= first && t < last).length);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it('should refuse a bad window or bucket count with a 400 naming the field, and an unknown card with a 404', async () => {
    for (const [q, field] of [
      ['buckets=0', 'buckets'],
      ['buckets=2001', 'buckets'],
      ['buckets=1.5', 'buckets'],
      ['from=yesterday', 'from'],
      [`from=${rows[3].at}&to=${rows[3].at}`, 'to'],
      ['to=2000-01-01T00:00:00Z', 'to'],
    ]) {
      const res = await ctx.app.api('GET', `/v1/cards/${CARD}/balance-series?${q}`);
      expect({ q, status: res.status, field: res.body.error.details?.[0]?.field }).toEqual({ q, status: 400, field });
    }
    expect((await ctx.app.api('GET', '/v1/cards/EKCNOPE001/balance-series')).status).toBe(404);
    const before = await ctx.app.api('GET', `/v1/cards/${CARD}/balance-series?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`);
    expect([before.status, before.body.historyRows, before.body.points]).toEqual([200, 0, []]);
    expect((await ctx.app.api('GET', '/v1/cards/not-a-card/balance-series')).status).toBe(400);
  });

  it("should page the history newest first, and bound it by seq so a CSV holds exactly one page's rows", async () => {
    const newest: Row[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Row[]; nextCursor: string | null } } = await ctx.app.api(
        'GET',
        `/v1/cards/${CARD}/history?order=desc&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      );
      newest.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(newest.map((r) => r.seq)).toEqual(
      rows
        .slice(1)
        .map((r) => r.seq)
        .reverse(),
    );

    const page = (await ctx.app.api('GET', `/v1/cards/${CARD}/history?order=desc&limit=9&from=${rows[10].at}`)).body.data as Row[];
    const seqs = page.map((r) => r.seq);
    const csv = await ctx.app.api(
      'GET',
      `/v1/cards/${CARD}/history?format=csv&order=desc&from=${rows[10].at}&seqFrom=${Math.min(...seqs)}&seqTo=${Math.max(...seqs) + 1}`,
    );
    expect(csv.status).toBe(200);
    const [header, ...lines] = parseCsv(csv.text);
    expect(lines.map((l) => Number(l[header.indexOf('seq')]))).toEqual(seqs);
    for (const [q, field] of [
      ['seqFrom=x', 'seqFrom'],
      ['seqTo=-1', 'seqTo'],
      ['order=newest', 'order'],
    ]) {
      const res = await ctx.app.api('GET', `/v1/cards/${CARD}/history?${q}`);
      expect({ q, status: res.status, field: res.body.error.details?.[0]?.field }).toEqual({ q, status: 400, field });
    }
  });
});
