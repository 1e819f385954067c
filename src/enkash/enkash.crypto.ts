import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/**
 * EnKash's optional body envelope (ENKASH.md "Encryption"): AES-128-ECB, PKCS7, base64, the key being the
 * first 16 bytes of SHA-256(clientSecret). ECB is EnKash's choice, not ours; we only have to speak it.
 */
export function deriveEnKashKey(clientSecret: string): Buffer {
  return createHash('sha256').update(clientSecret, 'utf8').digest().subarray(0, 16);
}

export function encryptEnKashBody(plainText: string, key: Buffer): string {
  const cipher = createCipheriv('aes-128-ecb', key, null);
  return Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]).toString('base64');
}

/** Throws on bad base64, bad padding or a wrong key; the caller turns that into an encryption failure. */
export function decryptEnKashBody(cipherText: string, key: Buffer): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(cipherText)) throw new Error('ciphertext is not base64');
  const decipher = createDecipheriv('aes-128-ecb', key, null);
  return Buffer.concat([decipher.update(Buffer.from(cipherText, 'base64')), decipher.final()]).toString('utf8');
}
