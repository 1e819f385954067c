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
  fsynced(tmp, 'wx', mode, (fd) => writeSync(fd, text));
  return tmp;
}

/** Opens `path` (a file, or a folder with 'r'), lets `write` write to it, then fsyncs and closes it. */
function fsynced(path: string, flags: string, mode?: number, write?: (fd: number) => void): void {
  const fd = openSync(path, flags, mode);
  try {
    write?.(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncFolder(file: string): void {
  fsynced(dirname(file), 'r');
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
