import { ConfigError, loadConfig } from '../../src/config/app-config';

/** The lease must outlast one whole EnKash exchange (docs/design.md, "Leases and fences"): refused, never stretched. */
describe('sync configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ PORT: '0', ...env });
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };

  it('should refuse a lease that one exchange (token, call, 401 retry) could outlive, naming both settings', () => {
    const found = problems({ ENKASH_TIMEOUT_MS: '10000', SYNC_LEASE_MS: '21999' });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/SYNC_LEASE_MS \(21999\).*ENKASH_TIMEOUT_MS \(20000\).*22000/);
  });

  it('should refuse it for every role that runs the worker, and not for an API-only instance that never sends', () => {
    const short = { ENKASH_TIMEOUT_MS: '15000', SYNC_LEASE_MS: '30000' };
    expect(problems({ ...short, ROLE: 'worker' })).toHaveLength(1);
    expect(problems({ ...short, ROLE: 'all' })).toHaveLength(1);
    expect(problems({ ...short, ROLE: 'api' })).toEqual([]);
  });

  it('should accept the defaults and a lease of exactly 2 × ENKASH_TIMEOUT_MS + 2 s', () => {
    expect(loadConfig({ PORT: '0' }).sync).toMatchObject({ leaseMs: 30_000, exchangeDeadlineMs: 20_000 });
    expect(problems({ ENKASH_TIMEOUT_MS: '400', SYNC_LEASE_MS: '2800' })).toEqual([]);
  });
});
