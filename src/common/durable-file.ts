import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Files in DATA_DIR that must never be seen half written (docs/audit.md): the text goes to a temporary file in
 * the same folder, is fsync'd, then takes the name in one step; the folder is fsync'd so the name survives a crash.
 */
function staged(file: string, text: string, mode: number): string {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

function syncFolder(file: string): void {
  const fd = openSync(dirname(file), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `file` with `text`, whole or not at all. */
export function writeFileDurably(file: string, text: string, mode = 0o600): void {
  const tmp = staged(file, text, mode);
  try {
    renameSync(tmp, file);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  syncFolder(file);
}

/** Creates `file` with `text`, whole, unless it exists; returns false when another writer created it first. */
export function createFileDurably(file: string, text: string, mode = 0o600): boolean {
  const tmp = staged(file, text, mode);
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    unlinkSync(tmp);
  }
  syncFolder(file);
  return true;
}
