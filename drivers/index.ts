// createDriver(): the backend for this OS. The Linux module binds libc only on first use, so it is
// imported statically. The BSD backends are imported only on a BSD (top-level await on a literal
// dynamic import: never evaluated on Linux, still included by the bundler).
import { createLinuxDriver } from './linux/driver.ts';
import type { Driver, OsName } from './types.ts';

export interface CreateDriverOptions {
  /** Override process.platform (for diagnostics; a backend only works on its own OS). */
  os?: OsName;
}

const BSD: readonly string[] = ['netbsd', 'freebsd', 'openbsd'];
const bsd = BSD.includes(process.platform) ? await import('./bsd/index.ts') : null;

export function createDriver(opts: CreateDriverOptions = {}): Driver {
  const os = opts.os ?? (process.platform as string);
  switch (os) {
    case 'linux':
      return createLinuxDriver();
    case 'netbsd':
    case 'freebsd':
    case 'openbsd':
      if (!bsd) throw new Error(`the ${os} driver runs on ${os} only`);
      return bsd.createBsdDriver(os);
    default:
      throw new Error(`no driver for platform '${os}'`);
  }
}
