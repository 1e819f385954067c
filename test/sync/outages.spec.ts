import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../src/database/data-source';
import { EmbeddedDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { RunningSimulator, startEnKashSimulator } from '../../src/enkash-simulator/simulator';
import { sql } from '../support/db';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { TestApp } from '../support/app';
import { createLoad, startSim, startSyncApp, waitFor, waitForStatus } from './sync-harness';

describe('outages', () => {
  it('should reverse nothing while EnKash is down, pause sending, park loads for review, and settle them once re-queued', async () => {
    let sim: RunningSimulator = await startSim();
    const port = sim.port;
    const t: TestApp = await startSyncApp(sim, { SYNC_MAX_ATTEMPTS: '3', SYNC_CIRCUIT_THRESHOLD: '3', SYNC_CIRCUIT_OPEN_MS: '200' });
    const c = await sql(t.databaseUrl);
    try {
      await sim.close(); // EnKash is unreachable for the whole first part
      const loads = await Promise.all(Array.from({ length: 5 }, (_, i) => createLoad(t, 'EKCDOWN001', `${i + 1}.00`)));
      let sawOpen = false;
      await waitFor(
        'every load to reach review',
        async () => {
          sawOpen ||= /card_ledger_enkash_circuit_state 2/.test((await t.api('GET', '/metrics', { key: null })).text);
          const { rows } = await c.query(`SELECT count(*)::int AS n FROM card_loads WHERE status = 'needs_review'`);
          return rows[0].n === 5;
        },
        30_000,
      );
      expect(sawOpen).toBe(true);
      const statuses = await c.query(`SELECT DISTINCT status FROM card_loads`);
      expect(statuses.rows).toEqual([{ status: 'needs_review' }]); // nothing reversed
      const queue = await t.api('GET', '/v1/card-loads?status=needs_review');
      expect(queue.body.data).toHaveLength(5);

      sim = await startEnKashSimulator({ port, hangMs: 800 }); // EnKash is back
      for (const l of loads) expect((await t.api('POST', `/v1/card-loads/${l.id}/requeue`)).status).toBe(200);
      for (const l of loads) {
        await waitForStatus(t, l.id, ['posted'], 20_000);
        expect(sim.state.appliedCount(l.reference)).toBe(1);
      }
      expectNoViolations(await ledgerViolations(c));
    } finally {
      await c.end();
      await t.close();
      await sim.close();
    }
  }, 90_000);

  it('should let an operator resolve only loads in review, keeping the reason and the key name', async () => {
    const sim = await startSim();
    const t = await startSyncApp(sim, { SYNC_MAX_ATTEMPTS: '1' });
    try {
      const posted = await createLoad(t, 'EKCOPS0001', '1.00');
      await waitForStatus(t, posted.id, ['posted']);
      const refused = await t.api('POST', `/v1/card-loads/${posted.id}/resolve`, { body: { outcome: 'reversed', reason: 'x' } });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('invalid_state');
      const ops = (await t.api('POST', '/v1/api-keys', { body: { name: 'night-operator', scopes: ['ops:write'] } })).body;
      const stuck = await createLoad(t, 'EKCOPS0002', '2.00');
      sim.state.injectFault({ fault: 'http-503', reference: stuck.reference, count: 5 });
      await waitForStatus(t, stuck.id, ['needs_review']);
      const bad = await t.api('POST', `/v1/card-loads/${stuck.id}/resolve`, { key: ops.key, body: { outcome: 'maybe', reason: '' } });
      expect(bad.status).toBe(400);
      // Reversing is refused (409 load_in_flight, Retry-After) until the last send's grace has passed.
      const ok = await waitFor('the grace after the last send', async () => {
        const r = await t.api('POST', `/v1/card-loads/${stuck.id}/resolve`, {
          key: ops.key,
          body: { outcome: 'reversed', reason: 'confirmed with EnKash support, ticket 42' },
        });
        if (r.status === 409 && r.body.error.code === 'load_in_flight') return null;
        return r;
      });
      expect(ok.status).toBe(200);
      expect(ok.body.status).toBe('reversed');
      const last = ok.body.events[ok.body.events.length - 1];
      expect(last).toMatchObject({ type: 'settled', outcome: 'reversed', actor: 'night-operator' });
      expect(last.message).toContain('ticket 42');
      expect(
        (await t.api('POST', `/v1/card-loads/${stuck.id}/resolve`, { key: ops.key, body: { outcome: 'posted', reason: 'again' } })).status,
      ).toBe(409);
      // Undo of a posted load: an opposite posted transfer, the original untouched.
      const undone = await t.api('POST', `/v1/card-loads/${posted.id}/undo`, {
        key: ops.key,
        body: { reason: 'EnKash reversed it on their side' },
      });
      expect(undone.status).toBe(200);
      expect(undone.body).toMatchObject({ status: 'posted' });
      expect(undone.body.undoneAt).not.toBeNull();
      expect((await t.api('GET', '/v1/cards/EKCOPS0001/balance')).body.posted).toBe('0.00');
      const hist = (await t.api('GET', '/v1/cards/EKCOPS0001/history')).body.data.map((r: { event: string }) => r.event);
      expect(hist).toEqual(['load_pending', 'load_posted', 'load_undone']);
      expect((await t.api('POST', `/v1/card-loads/${posted.id}/undo`, { key: ops.key, body: { reason: 'again' } })).status).toBe(409);
      const c = await sql(t.databaseUrl);
      expectNoViolations(await ledgerViolations(c));
      await c.end();
    } finally {
      await t.close();
      await sim.close();
    }
  });

  it('should reconnect after Postgres restarts under it and settle every load, nothing half-written', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'card-ledger-pgrestart-'));
    let db: EmbeddedDatabase = await startEmbeddedPostgres(dir, () => undefined, 'restart_test');
    const sim = await startSim({ latencyMs: 20 });
    await runMigrations(db.url);
    const t = await startSyncApp(sim, {}, db.url);
    try {
      const first = await Promise.all(Array.from({ length: 20 }, (_, i) => createLoad(t, 'EKCPGRS001', '1.00', `pg-a-${i}`)));
      await db.stop(); // fast shutdown while the worker is busy
      db = await startEmbeddedPostgres(dir, () => undefined, 'restart_test', db.port);
      const second = await waitFor(
        'intake to work again',
        async () => createLoad(t, 'EKCPGRS001', '1.00', 'pg-b-0').catch(() => null),
        20_000,
      );
      for (const l of [...first, second]) await waitForStatus(t, l.id, ['posted'], 30_000);
      for (const l of [...first, second]) expect(sim.state.appliedCount(l.reference)).toBe(1);
      const c = new Client({ connectionString: db.url });
      await c.connect();
      expectNoViolations(await ledgerViolations(c));
      await c.end();
    } finally {
      await t.app.close();
      await sim.close();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
