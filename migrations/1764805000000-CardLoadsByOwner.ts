import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A loads:write key lists only the loads it created (newest first): without this index the list would walk
 * every load ever made to find one key's. Built in the migration's transaction (writes to card_loads wait for
 * it: seconds per million loads).
 */
export class CardLoadsByOwner1764805000000 implements MigrationInterface {
  name = 'CardLoadsByOwner1764805000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX card_loads_owner ON card_loads (api_key_id, created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS card_loads_owner`);
  }
}
