import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/**
 * EnKash's AES-128-ECB envelope, written again here rather than imported from the client: a simulator that
 * shared the client's code would agree with any bug in it.
 */
export class SimulatorCipher {
  private readonly key: Buffer;

  constructor(clientSecret: string) {
    this.key = createHash('sha256').update(Buffer.from(clientSecret, 'utf8')).digest().subarray(0, 16);
  }

  seal(plain: string): string {
    const c = createCipheriv('aes-128-ecb', this.key, null);
    return Buffer.concat([c.update(Buffer.from(plain, 'utf8')), c.final()]).toString('base64');
  }

  /** null on anything that is not our ciphertext: the caller answers 422 "Invalid encrypted request". */
  open(sealed: string): string | null {
    try {
      const raw = Buffer.from(sealed, 'base64');
      if (raw.length === 0 || raw.length % 16 !== 0 || raw.toString('base64') !== sealed) return null;
      const d = createDecipheriv('aes-128-ecb', this.key, null);
      return Buffer.concat([d.update(raw), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
