import { Logger } from '@nestjs/common';
import { AUTOVACUUM_OFF, TEMPORARY_ALLOWED } from '../../src/database/server-settings';
import { useTestApp } from '../support/app';

/**
 * The service says at start when its Postgres runs without autovacuum (docs/operations.md, "Postgres settings the
 * ledger expects"). The setting is the server's, so each suite sees one side: the embedded Postgres has it on, the
 * development machines' server has it off. The warning must follow it exactly: once when off, never when on.
 */
describe('warnings at start: autovacuum off, temporary tables allowed', () => {
  const warn = jest.spyOn(Logger.prototype, 'warn');
  const ctx = useTestApp();
  afterAll(() => warn.mockRestore());

  it('should warn once when the server has autovacuum off, and not at all when it is on', async () => {
    const [{ autovacuum }] = (await ctx.db.query<{ autovacuum: string }>(`SELECT current_setting('autovacuum') AS autovacuum`)).rows;
    const warnings = warn.mock.calls.filter(([message]) => message === AUTOVACUUM_OFF);
    expect(warnings.length).toBe(autovacuum === 'off' ? 1 : 0);
  });

  it("should warn once when the service's role may make temporary tables, and not at all when it may not", async () => {
    // The service's own connection, whose role is the one that matters (the embedded mode's app role has no such right).
    const [{ temporary }] = await ctx.app.ds.query<Array<{ temporary: boolean }>>(
      `SELECT has_database_privilege(current_user, current_database(), 'TEMPORARY') AS temporary`,
    );
    expect(warn.mock.calls.filter(([message]) => message === TEMPORARY_ALLOWED).length).toBe(temporary ? 1 : 0);
  });
});
