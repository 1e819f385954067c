/**
 * `npm run migration:run`: apply migrations to DATABASE_URL, nothing else. `npm run migration:revert` (`--revert`):
 * take back the last one applied, with its down().
 */
import { revertLastMigration, runMigrations } from './data-source';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL must be set for migration:run and migration:revert\n');
    process.exit(2);
  }
  if (process.argv.includes('--revert')) {
    const reverted = await revertLastMigration(url);
    process.stdout.write(reverted ? `reverted: ${reverted}\n` : 'no migration to revert\n');
    return;
  }
  const applied = await runMigrations(url);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`migration failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
