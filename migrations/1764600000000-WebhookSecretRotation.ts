import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Zero-downtime rotation of a subscription's signing secret: the secret it replaces keeps signing too
 * (a second v1 in Card-Ledger-Signature) until it expires, so a receiver can switch over at its own pace.
 * Only one previous secret is kept; a new rotation overwrites it with the then-current one.
 */
export class WebhookSecretRotation1764600000000 implements MigrationInterface {
  name = 'WebhookSecretRotation1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
ALTER TABLE webhook_subscriptions
  -- Sealed exactly like secret_ciphertext (the subscription id as AAD): rotation moves that value here as is.
  ADD COLUMN previous_secret_ciphertext bytea CHECK (length(previous_secret_ciphertext) > 28),
  ADD COLUMN previous_secret_key_id     text,
  -- Deliveries claimed from this moment on (database time) are signed with the current secret only.
  ADD COLUMN previous_secret_expires_at timestamptz,
  ADD CONSTRAINT webhook_subscriptions_previous_secret_whole CHECK (
    (previous_secret_ciphertext IS NULL) = (previous_secret_key_id IS NULL)
    AND (previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL));
`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
ALTER TABLE webhook_subscriptions
  DROP CONSTRAINT IF EXISTS webhook_subscriptions_previous_secret_whole,
  DROP COLUMN IF EXISTS previous_secret_expires_at,
  DROP COLUMN IF EXISTS previous_secret_key_id,
  DROP COLUMN IF EXISTS previous_secret_ciphertext;
`);
  }
}
