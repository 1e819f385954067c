import { Inject, Injectable, Logger } from '@nestjs/common';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ApiError } from '../common/errors';
import { readOrCreateKeyFile } from '../common/key-file';
import { WEBHOOK_CONFIG, WebhookConfig } from './webhook-config';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT = 'card-ledger/webhook-secrets';

/** The secret cannot be opened here: no key configured, another key than the one that sealed it, or a damaged row. */
export class WebhookSecretUnavailableError extends Error {
  override readonly name = 'WebhookSecretUnavailableError';
}

type DerivedKey = { key: Buffer; keyId: string };

/**
 * Encrypts signing secrets at rest (AES-256-GCM under a key derived with HKDF-SHA256) and opens them for
 * the delivery worker. The only code that sees the key; secrets and keys never reach a log line.
 */
@Injectable()
export class WebhookSecretBox {
  private readonly logger = new Logger(WebhookSecretBox.name);
  private derived: DerivedKey | null = null;

  constructor(@Inject(WEBHOOK_CONFIG) private readonly config: WebhookConfig) {}

  seal(subscriptionId: string, secret: string): { ciphertext: Buffer; keyId: string } {
    const k = this.keyOrNull();
    if (k === null) {
      throw new ApiError('service_unavailable', 'webhook secrets cannot be stored: set WEBHOOK_SECRET_KEY (32+ characters)');
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', k.key, iv);
    cipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return { ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]), keyId: k.keyId };
  }

  open(subscriptionId: string, ciphertext: Buffer, keyId: string): string {
    const k = this.keyOrNull();
    if (k === null) throw new WebhookSecretUnavailableError('no webhook secret key is configured (WEBHOOK_SECRET_KEY)');
    if (k.keyId !== keyId) {
      throw new WebhookSecretUnavailableError(
        `signing secret was encrypted under another key (key id ${keyId}, this instance has ${k.keyId})`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', k.key, ciphertext.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(subscriptionId, 'utf8'));
      decipher.setAuthTag(ciphertext.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(ciphertext.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new WebhookSecretUnavailableError('signing secret does not decrypt (damaged row)');
    }
  }

  /** Derived on first use, so a start that never touches webhooks creates no key file. */
  private keyOrNull(): DerivedKey | null {
    if (this.derived) return this.derived;
    const s = this.config.secretKey;
    if (s === null) return null;
    const material = s.source === 'DATA_DIR' ? this.keyFile(s.file) : s.material;
    if (s.source === 'ADMIN_API_KEY') {
      this.logger.warn(
        'WEBHOOK_SECRET_KEY is not set: webhook secrets are encrypted under a key derived from ADMIN_API_KEY; ' +
          'changing ADMIN_API_KEY makes existing subscriptions unable to sign',
      );
    }
    const key = Buffer.from(hkdfSync('sha256', material, SALT, 'aes-256-gcm v1', 32));
    const keyId = Buffer.from(hkdfSync('sha256', material, SALT, 'key id v1', 8)).toString('hex');
    this.derived = { key, keyId };
    return this.derived;
  }

  /** Embedded mode only: a random key kept beside the database files, created once (0600). */
  private keyFile(file: string): string {
    return readOrCreateKeyFile(file, () =>
      this.logger.warn(`generated the webhook secret key file ${file}: back it up with the data, or set WEBHOOK_SECRET_KEY`),
    );
  }
}
