import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serverUrl } from '../support/db';
import { dumpFreshSchema, SCHEMA_DUMP_COMMAND, SCHEMA_FILE } from '../support/schema-dump';

const file = path.resolve(__dirname, '../..', SCHEMA_FILE);

/**
 * docs/schema.sql is the schema the migrations build, for readers: it must never drift from them. `npm run schema:dump`
 * runs this file with SCHEMA_DUMP_WRITE=1, which writes the fresh dump instead of comparing.
 */
describe('docs/schema.sql', () => {
  it('is the schema a fresh database has after every migration', async () => {
    const fresh = await dumpFreshSchema(serverUrl());
    if (process.env.SCHEMA_DUMP_WRITE === '1') {
      writeFileSync(file, fresh);
      return;
    }
    let checkedIn = '';
    try {
      checkedIn = readFileSync(file, 'utf8');
    } catch {
      // missing: reported below as a difference
    }
    if (checkedIn !== fresh) {
      const a = checkedIn.split('\n');
      const b = fresh.split('\n');
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      throw new Error(
        `${SCHEMA_FILE} differs from the migrations' schema (first at line ${i + 1}: ` +
          `checked in ${JSON.stringify(a[i] ?? '<end>')}, migrations give ${JSON.stringify(b[i] ?? '<end>')}); ` +
          `regenerate it with: ${SCHEMA_DUMP_COMMAND}`,
      );
    }
  });
});
