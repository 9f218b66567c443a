// One daemon per state directory: an exclusive flock(2) on `<state_dir>/tandem.lock`, held for the
// process's life and released by the kernel when the process dies (SIGKILL included), so no stale
// lock survives a crash. The file also holds the holder's pid, for the message a second daemon
// prints. flock: Linux <sys/file.h>; NetBSD sys/fcntl.h 1.x (LOCK_EX 0x02, LOCK_NB 0x04, as on
// Linux, FreeBSD and OpenBSD); EWOULDBLOCK is EAGAIN: 11 on Linux, 35 on the BSDs (sys/errno.h).
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';

const LOCK_EX = 0x02;
const LOCK_NB = 0x04;
const EWOULDBLOCK: Record<string, number> = { linux: 11, netbsd: 35, freebsd: 35, openbsd: 35 };
const LIBC: Record<string, string> = { linux: 'libc.so.6', netbsd: 'libc.so.12', freebsd: 'libc.so.7' };

export const LOCK_FILE = 'tandem.lock';

let flockFn: ((fd: number, op: number) => number) | null = null;
function flock(fd: number, op: number): { ret: number; errno: number } {
  if (!flockFn) flockFn = koffi.load(LIBC[process.platform] ?? 'libc.so').func('int flock(int fd, int operation)');
  const ret = flockFn(fd, op);
  return { ret, errno: ret < 0 ? koffi.errno() : 0 };
}

export type StateLock =
  | { ok: true; file: string; fd: number }
  | { ok: false; file: string; heldBy?: number; error?: string };

/** Takes the lock on `stateDir` (created 0750 if missing) without waiting. */
export function lockStateDir(stateDir: string, pid = process.pid): StateLock {
  const file = join(stateDir, LOCK_FILE);
  let fd: number;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    fd = openSync(file, 'a+', 0o640);
  } catch (e) {
    return { ok: false, file, error: (e as Error).message };
  }
  const r = flock(fd, LOCK_EX | LOCK_NB);
  if (r.ret !== 0) {
    closeSync(fd);
    if (r.errno === (EWOULDBLOCK[process.platform] ?? 11)) return { ok: false, file, heldBy: readPid(file) };
    return { ok: false, file, error: `flock: errno ${r.errno}` };
  }
  // Ours now: record who holds it (the fd stays open, and the lock with it, until we exit).
  ftruncateSync(fd, 0);
  writeSync(fd, `${pid}\n`);
  return { ok: true, file, fd };
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
