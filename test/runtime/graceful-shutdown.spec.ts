import { Client } from 'pg';
import { RunningSimulator } from '../../src/enkash-simulator/simulator';
import { createTestDatabase, sql } from '../support/db';
import { expectNoViolations, ledgerViolations } from '../support/ledger-checks';
import { spawnService } from '../support/worker-process';
import { enkashEnv, FAST_SYNC_ENV, startSim, waitFor } from '../sync/sync-harness';

const KEY = 'sigterm-admin-key-0123456789abcdef';
const CLIENTS = 16;

type Answer = { key: string; status: number; id?: string; afterSigterm: boolean };

/** The built service (`npm start`) under load traffic gets SIGTERM: every request it answered 2xx must be in the database. */
describe('graceful shutdown under load', () => {
  let db: { url: string; drop(): Promise<void> };
  let sim: RunningSimulator;
  let c: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSim();
    c = await sql(db.url);
  });
  afterAll(async () => {
    await c.end();
    await sim.close();
    await db.drop();
  });

  it('should lose no accepted card load when SIGTERM arrives mid-traffic, and exit 0', async () => {
    const svc = await spawnService({ ...FAST_SYNC_ENV, ...enkashEnv(sim), DATABASE_URL: db.url, ROLE: 'all', ADMIN_API_KEY: KEY });
    try {
      const url = /listening on (http:\/\/\S+)/.exec(svc.output())![1];
      const answers: Answer[] = [];
      let sigtermSent = false;
      let inFlight = 0;
      const client = async (n: number) => {
        for (let i = 0; ; i++) {
          const key = `sigterm-${n}-${i}`;
          inFlight++;
          try {
            const res = await fetch(`${url}/v1/card-loads`, {
              method: 'POST',
              headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': key },
              body: JSON.stringify({ enKashCardId: `EKCTERM${String(n).padStart(3, '0')}`, amount: '1.00' }),
            });
            const body = (await res.json().catch(() => null)) as { id?: string } | null;
            answers.push({ key, status: res.status, id: body?.id, afterSigterm: sigtermSent });
          } catch {
            if (sigtermSent || svc.proc.exitCode !== null) return; // the listener is gone: this request was never answered
          } finally {
            inFlight--;
          }
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
      await waitFor('steady traffic', async () => answers.filter((a) => a.status === 201).length >= 100, 30_000);
      const inFlightAtSigterm = inFlight;
      sigtermSent = true;
      svc.proc.kill('SIGTERM');
      expect(await svc.exited()).toBe(0);
      await Promise.all(clients);

      expect(inFlightAtSigterm).toBeGreaterThan(0);
      expect(svc.output()).toContain('SIGTERM: draining and stopping');
      const accepted = answers.filter((a) => a.status >= 200 && a.status < 300);
      const refused = answers.filter((a) => a.status >= 300);
      expect(accepted.every((a) => typeof a.id === 'string')).toBe(true);
      expect(accepted.filter((a) => a.afterSigterm).length).toBeGreaterThan(0); // requests in flight were drained, not cut
      const stored = await c.query(`SELECT id, idempotency_key FROM card_loads`);
      const storedIds = new Set(stored.rows.map((r: { id: string }) => r.id));
      expect(accepted.filter((a) => !storedIds.has(a.id!))).toEqual([]);
      // Invariant 7 the other way round: a request refused while closing left nothing behind.
      const storedKeys = new Set(stored.rows.map((r: { idempotency_key: string }) => r.idempotency_key));
      expect(refused.filter((a) => storedKeys.has(a.key))).toEqual([]);
      expectNoViolations(await ledgerViolations(c));
    } finally {
      await svc.kill('SIGKILL');
    }
  }, 90_000);
});
