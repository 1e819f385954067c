import { createHash, createHmac, createPrivateKey, createPublicKey, hkdfSync, KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { readOrCreateKeyFile } from '../common/key-file';
import { AuditConfig } from '../config/app-config';

/** Nest token of the AuditKeys instance (from APP_CONFIG's audit.sealKey). */
export const AUDIT_KEYS = Symbol('AUDIT_KEYS');

const SALT = 'card-ledger/audit';
/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The audit key (docs/audit.md), from AUDIT_SEAL_KEY or a key file in DATA_DIR; the database never holds it.
 * Two keys are derived from it (HKDF-SHA256):
 * - the seal MAC key: mac(n) = HMAC-SHA256(key, "<seq>:" || hash(n)), stored with each seal. Whoever can write
 *   the tables can recompute hashes, not MACs, so the verifier names the first seal rewritten;
 * - an Ed25519 key that signs chain-head checkpoints. Its public key is published, so an auditor verifies the
 *   checkpoints, and the chain up to each, without any secret.
 */
export class AuditKeys {
  private readonly macKey: Buffer;
  /** For the audit trail of admin actions (src/audit-trail): its own key, so a seal's MAC is never an event's. */
  private readonly eventMacKey: Buffer;
  private readonly signingKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  /** First 16 hex digits of SHA-256 of the raw public key: names the key in every checkpoint. */
  readonly keyId: string;

  constructor(material: string) {
    this.macKey = Buffer.from(hkdfSync('sha256', material, SALT, 'seal mac v1', 32));
    this.eventMacKey = Buffer.from(hkdfSync('sha256', material, SALT, 'audit event mac v1', 32));
    const seed = Buffer.from(hkdfSync('sha256', material, SALT, 'checkpoint ed25519 v1', 32));
    this.signingKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    this.publicKey = createPublicKey(this.signingKey);
    this.publicKeyPem = this.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    this.keyId = publicKeyId(this.publicKey);
  }

  /** The key the configuration names: AUDIT_SEAL_KEY, else the key file (created at the first start, 0600). */
  static fromConfig(audit: AuditConfig): AuditKeys {
    const key = audit.sealKey;
    if (key.source === 'AUDIT_SEAL_KEY') return new AuditKeys(key.material);
    return new AuditKeys(
      readOrCreateKeyFile(key.file, () =>
        new Logger(AuditKeys.name).warn(
          `generated the audit key file ${key.file}: back it up apart from the database, or set AUDIT_SEAL_KEY`,
        ),
      ),
    );
  }

  mac(seq: bigint, hash: Buffer): Buffer {
    return createHmac('sha256', this.macKey).update(`${seq}:`).update(hash).digest();
  }

  macMatches(seq: bigint, hash: Buffer, mac: Buffer | null): boolean {
    return mac !== null && mac.length === 32 && timingSafeEqual(this.mac(seq, hash), mac);
  }

  /** mac(n) of the audit trail: HMAC-SHA256(event key, "<seq>:" || hash(n)) (docs/audit-trail.md). */
  eventMac(seq: bigint, hash: Buffer): Buffer {
    return createHmac('sha256', this.eventMacKey).update(`${seq}:`).update(hash).digest();
  }

  eventMacMatches(seq: bigint, hash: Buffer, mac: Buffer | null): boolean {
    return mac !== null && mac.length === 32 && timingSafeEqual(this.eventMac(seq, hash), mac);
  }

  sign(document: string): string {
    return sign(null, Buffer.from(document, 'utf8'), this.signingKey).toString('base64');
  }
}

export function publicKeyId(key: KeyObject): string {
  const raw = key.export({ format: 'der', type: 'spki' }).subarray(-32);
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Checks a checkpoint's signature with a public key alone (what an auditor holds). */
export function signatureMatches(publicKey: KeyObject, document: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(document, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
