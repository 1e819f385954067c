import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createFileDurably } from './durable-file';

/** A generated key: 32 random bytes, base64url (43 characters). */
const GENERATED_LENGTH = 43;
/** The least a key given by hand may have (the same floor as AUDIT_SEAL_KEY). */
const MIN_LENGTH = 32;

/**
 * A random key kept in a file (0600), created at the first call: written whole (a temporary file, fsync'd, then
 * linked to its name, so a crash never leaves half a key), and a concurrent creator loses the race harmlessly and
 * reads the winner's key. Returns the key, trimmed.
 *
 * A file that is there but empty, truncated or not text is refused, never replaced: a new key would silently make
 * everything sealed or encrypted with the old one unverifiable (docs/audit.md). Restore it from its backup.
 */
export function readOrCreateKeyFile(file: string, onCreated?: () => void): string {
  try {
    return checked(file, readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (createFileDurably(file, `${randomBytes(32).toString('base64url')}\n`, 0o600)) onCreated?.();
  return checked(file, readFileSync(file, 'utf8'));
}

function checked(file: string, text: string): string {
  const key = text.trim();
  const generatedButShort = /^[A-Za-z0-9_-]*$/.test(key) && key.length < GENERATED_LENGTH;
  if (key.length < MIN_LENGTH || generatedButShort || key.includes('\u0000') || key.includes('\ufffd')) {
    throw new Error(
      `the key file ${file} is empty, truncated or corrupt (${key.length} characters): restore it from its backup. ` +
        'Refusing to start: a new key would leave everything made with the old one unverifiable',
    );
  }
  return key;
}
