import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileDurably } from '../common/durable-file';
import { CheckpointDocument, checkpointText, SignedCheckpoint } from './audit-checkpoints';
import { AuditKeys, signatureMatches } from './audit-keys';

/**
 * The signed head (docs/audit.md): after every sealing batch the sealer signs the chain's newest seal and
 * replaces DATA_DIR/audit-head.json with it (written to a temporary file, fsync'd, renamed). A checkpoint
 * anchors the chain once a minute; the head anchors it to the last seal, so deleting the newest transactions and
 * their seals (a rollback by the owner of the tables) leaves a chain shorter than a signature nobody with the
 * database alone can make. It is a checkpoint document, so an auditor can append it to a checkpoint file.
 */
export interface HeadDocument extends CheckpointDocument {
  /**
   * The first seal from which seals follow their transactions' moments (the sealer seals only final moments,
   * in moment order): a transaction sealed after one with a later moment was backdated. Carried from head to head.
   */
  momentOrderFrom: number;
}

export const headFileOf = (checkpointFile: string) => join(dirname(checkpointFile), 'audit-head.json');

export function headText(d: HeadDocument): string {
  return JSON.stringify({ ...JSON.parse(checkpointText(d)), momentOrderFrom: d.momentOrderFrom });
}

/** The head in the file: null when there is none; `broken` when the file is there but unreadable or not signed. */
export function readHead(
  file: string,
  keys: Pick<AuditKeys, 'publicKey'> | null,
): { head: HeadDocument | null; signed: SignedCheckpoint | null; broken: boolean } {
  if (!existsSync(file)) return { head: null, signed: null, broken: false };
  try {
    const signed = JSON.parse(readFileSync(file, 'utf8')) as SignedCheckpoint;
    const head = JSON.parse(signed.document) as HeadDocument;
    if (!Number.isSafeInteger(head.seq) || !Number.isSafeInteger(head.momentOrderFrom)) throw new Error('shape');
    if (keys && !signatureMatches(keys.publicKey, signed.document, signed.signature)) throw new Error('signature');
    return { head, signed, broken: false };
  } catch {
    return { head: null, signed: null, broken: true };
  }
}

/**
 * Signs and writes a newer head. Never moves the head back: with several instances sharing DATA_DIR a slower
 * writer may find a newer head already there. (Two racing writers can still leave the older of two fresh heads:
 * the verifier then holds the chain to that one, never to a seal that does not exist.)
 */
export function writeHead(
  file: string,
  keys: AuditKeys,
  next: Omit<HeadDocument, 'momentOrderFrom' | 'keyId' | 'signedAt'>,
  firstSealedNow: number,
): HeadDocument | null {
  const { head: current, broken } = readHead(file, keys);
  // A head this key did not sign is evidence (the verifier reports it): never overwrite it.
  if (broken || (current && current.seq >= next.seq)) return null;
  const doc: HeadDocument = {
    ...next,
    signedAt: new Date().toISOString(),
    keyId: keys.keyId,
    momentOrderFrom: current?.momentOrderFrom ?? firstSealedNow,
  };
  const document = headText(doc);
  writeFileDurably(file, `${JSON.stringify({ document, signature: keys.sign(document) })}\n`, 0o644);
  return doc;
}
