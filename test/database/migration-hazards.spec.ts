import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Migrations run on a populated ledger (docs/operations.md): a plain CREATE INDEX on a big table blocks its writes
 * for the whole build, and a CHECK or foreign key added without NOT VALID scans the table under an exclusive lock
 * (reads blocked too). New migrations must build indexes CONCURRENTLY (in a migration with `transaction = false`)
 * and add constraints NOT VALID, then VALIDATE CONSTRAINT in a later statement. Statements already applied cannot be
 * changed (migrations are never edited): they are listed here with what they cost, and nothing else may join them.
 */
const BIG_TABLES = [
  'card_loads',
  'journal_transactions',
  'journal_entries',
  'account_history',
  'journal_seals',
  'load_events',
  'webhook_deliveries',
  'webhook_attempts',
  'audit_events',
  'audit_verifications',
  'sync_jobs',
];
const KNOWN = new Set([
  '1764200000000-Reconciliation.ts', // card_loads_settled: plain index on card_loads (before any production data)
  '1764805000000-CardLoadsByOwner.ts', // card_loads_owner: plain index, blocks intake while it builds
  '1764810000000-AuditAnchors.ts', // two CHECKs on webhook_deliveries without NOT VALID: one scan under an exclusive lock
  // Its foreign keys go on the partitioned parents while they are empty (Postgres 15 refuses NOT VALID there, and the
  // old table's own keys are attached, not checked again); its down() copies the tables back offline, as it says.
  '1765300000000-PartitionJournalByMonth.ts',
]);
const DIR = path.resolve(__dirname, '../../migrations');

function hazards(text: string): string[] {
  const sql = text.replace(/--[^\n]*/g, '');
  const found: string[] = [];
  // A table the same migration creates is empty: nothing to lock out.
  const created = new Set([...sql.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/gi)].map((m) => m[1].toLowerCase()));
  const big = (t: string) => BIG_TABLES.includes(t.toLowerCase()) && !created.has(t.toLowerCase());
  for (const m of sql.matchAll(/CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY)[^;`]*?\bON\s+(\w+)/gi)) {
    if (big(m[1])) found.push(`index on ${m[1]} without CONCURRENTLY`);
  }
  for (const m of sql.matchAll(/ALTER\s+TABLE\s+(?:ONLY\s+)?(\w+)([^;`]*)/gi)) {
    const body = m[2];
    if (big(m[1]) && /ADD\s+(CONSTRAINT\s+\w+\s+)?(CHECK|FOREIGN\s+KEY)/i.test(body) && !/NOT\s+VALID/i.test(body)) {
      found.push(`constraint on ${m[1]} without NOT VALID`);
    }
  }
  return found;
}

describe('migrations on a populated ledger', () => {
  it('should add no blocking index or constraint on a big table beyond the ones already applied', () => {
    const offending = readdirSync(DIR)
      .filter((f) => f.endsWith('.ts') && !KNOWN.has(f))
      .flatMap((f) => hazards(readFileSync(path.join(DIR, f), 'utf8')).map((h) => `${f}: ${h}`));
    expect(offending).toEqual([]);
  });

  it('should recognise each hazard (the check itself)', () => {
    expect(hazards('CREATE INDEX x ON card_loads (a)')).toHaveLength(1);
    expect(hazards('CREATE INDEX CONCURRENTLY x ON card_loads (a)')).toEqual([]);
    expect(hazards('ALTER TABLE webhook_deliveries ADD CONSTRAINT c CHECK (a > 0)')).toHaveLength(1);
    expect(hazards('ALTER TABLE webhook_deliveries ADD CONSTRAINT c CHECK (a > 0) NOT VALID')).toEqual([]);
    expect(hazards(readFileSync(path.join(DIR, '1764805000000-CardLoadsByOwner.ts'), 'utf8'))).toHaveLength(1);
    expect(hazards(readFileSync(path.join(DIR, '1764810000000-AuditAnchors.ts'), 'utf8')).length).toBeGreaterThan(0);
  });
});
