// createDriver(): the backend for this OS. Backend modules do no OS work when imported (libc is
// bound on first use), so importing them all is safe everywhere and the bundler includes them.
import { createLinuxDriver } from './linux/driver.ts';
import type { Driver, OsName } from './types.ts';

export interface CreateDriverOptions {
  /** Override process.platform (for diagnostics; a backend only works on its own OS). */
  os?: OsName;
}

export function createDriver(opts: CreateDriverOptions = {}): Driver {
  const os = opts.os ?? (process.platform as string);
  switch (os) {
    case 'linux':
      return createLinuxDriver();
    default:
      throw new Error(`no driver for platform '${os}' in this build (drivers/bsd is not wired in yet)`);
  }
}
