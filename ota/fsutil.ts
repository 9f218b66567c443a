// Crash-safe file primitives for the update agent. Every state change on disk goes through
// "write temp, fsync, rename, fsync the directory": after a power cut either the old or the
// new content is there, never a torn file (the rename is the commit point; POSIX rename(2)).
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  fsyncSync,
  openSync,
  promises as fsp,
  renameSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** fsync a directory so a rename or a new entry in it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync one file by path. */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replace `file` atomically with `data` (temp + fsync + rename + fsync dir). */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}`);
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(dir);
}

/** Point the symlink `link` at `target` atomically: a temp symlink renamed over the old one. */
export async function switchSymlink(link: string, target: string): Promise<void> {
  const dir = dirname(link);
  const tmp = join(dir, `.${basename(link)}.tmp-${process.pid}`);
  await fsp.rm(tmp, { force: true });
  await fsp.symlink(target, tmp);
  await fsp.rename(tmp, link);
  await fsyncDir(dir);
}

/** The target of a symlink, or null when it is missing or not a link. */
export async function readLinkOrNull(link: string): Promise<string | null> {
  try {
    return await fsp.readlink(link);
  } catch {
    return null;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** sha256 (hex) and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** fsync every file and directory below `root`, deepest first; reports bytes of files synced. */
export async function fsyncTree(root: string, onFile?: (bytes: number) => void): Promise<void> {
  const entries = await fsp.readdir(root, { withFileTypes: true });
  for (const e of entries) {
    const p = join(root, e.name);
    if (e.isDirectory()) await fsyncTree(p, onFile);
    else if (e.isFile()) {
      await fsyncFile(p);
      if (onFile) onFile((await fsp.stat(p)).size);
    }
  }
  await fsyncDir(root);
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

// Synchronous twins for the boot path: the daemon calls bootCheck() before its event loop matters.

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDirSync(dir);
}

export function switchSymlinkSync(link: string, target: string): void {
  const dir = dirname(link);
  const tmp = join(dir, `.${basename(link)}.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, link);
  fsyncDirSync(dir);
}
