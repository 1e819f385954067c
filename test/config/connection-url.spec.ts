import { describeUrl, urlPassword } from '../../src/database/connection-url';
import { loadConfig } from '../../src/config/app-config';

describe('connection URLs (DATABASE_URL, DATABASE_READ_URL)', () => {
  const socket = 'postgresql://reader:s3cret-pw@/ledger?host=/run/postgresql&port=5433';

  it('should read the socket form as pg does, without its password', () => {
    expect(describeUrl(socket)).toBe('/run/postgresql:5433/ledger');
    expect(describeUrl('postgres://u:pw@db.example:6432/ledger')).toBe('db.example:6432/ledger');
    expect(urlPassword(socket)).toBe('s3cret-pw');
  });

  it('should never quote a URL it cannot read (its password with it)', () => {
    const bad = 'postgresql://reader:s3cret-pw@[::1/ledger%zz';
    expect(describeUrl(bad)).not.toContain('s3cret-pw');
    expect(() => describeUrl(bad)).not.toThrow();
    expect(urlPassword(null)).toBeNull();
  });

  it('should accept a socket-form DATABASE_READ_URL in the configuration', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/ledger', DATABASE_READ_URL: socket });
    expect(config.readReplica.url).toBe(socket);
  });
});
