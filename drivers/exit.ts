// Ends the process at once with `code`. The pcap package cannot release its capture handle, and a
// worker thread whose event loop still holds one makes Node abort at exit ("uv_loop_close() while
// having open handles"), turning a clean stop into a crash. Everything worth keeping (journal,
// logs) is written before this is called, so _exit(2) skips only Node's own teardown.
import { createRequire } from 'node:module';

const LIBC: Record<string, string> = {
  linux: 'libc.so.6',
  netbsd: 'libc.so.12',
  freebsd: 'libc.so.7',
  openbsd: 'libc.so',
};

export function exitNow(code: number): never {
  try {
    // koffi is loaded here, not at import: `check`, `status` and `reload` import this module and
    // must work where the native addon is not built yet (NetBSD: docs/netbsd.md).
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(LIBC[process.platform] ?? 'libc.so');
    lib.func('void _exit(int status)')(code);
  } catch {
    /* no libc binding: fall back */
  }
  process.exit(code);
}
