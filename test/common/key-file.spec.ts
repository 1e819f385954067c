import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readOrCreateKeyFile } from '../../src/common/key-file';

describe('key files in DATA_DIR', () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), 'key-file-'));

  it('should create a whole key, 0600, with nothing left beside it, and read the same key afterwards', () => {
    const d = dir();
    const file = path.join(d, 'audit-seal.key');
    let created = 0;
    const key = readOrCreateKeyFile(file, () => created++);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['audit-seal.key']);
    expect(readOrCreateKeyFile(file, () => created++)).toBe(key);
    expect(created).toBe(1);
  });

  it.each([
    ['empty', ''],
    ['truncated', 'q3mV0bWk2Zp8'],
    ['cut after 40 characters', 'A'.repeat(40)],
    ['binary', '\u0000'.repeat(50)],
  ])('should refuse a %s key file instead of minting a new key over it', (_what, content) => {
    const file = path.join(dir(), 'audit-seal.key');
    writeFileSync(file, content, { mode: 0o600 });
    expect(() => readOrCreateKeyFile(file)).toThrow(/truncated or corrupt.*restore it/);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('should read a key given by hand (32+ characters, any text)', () => {
    const file = path.join(dir(), 'k');
    writeFileSync(file, 'a passphrase of thirty-two characters or more\n');
    expect(readOrCreateKeyFile(file)).toBe('a passphrase of thirty-two characters or more');
  });
});
