// drivers/bsd/libc-koffi.ts with each BSD's symbol table (drivers/bsd/abi.ts LIBC_SYMBOLS), on
// Linux: a small shared library built here with cc stands in for the BSD libc. It defines
// NetBSD's __socket30 (sys/sys/socket.h 1.131.4.1 renames socket() so) over glibc's socket() and
// counts its calls; every other symbol resolves through its dependency on glibc, as dlsym on a
// library handle does. So NetBSD's table is bound and called for real, not only FreeBSD's plain
// names. The sa_len path (sockaddrs sized by their first byte, as on every BSD) is run against a
// sockaddr this test lays out BSD-style. Skipped (said so) where no C compiler is installed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { BSD_OSES, LIBC_SYMBOLS } from '../../drivers/bsd/abi.ts';
import { loadKoffiLibc } from '../../drivers/bsd/libc-koffi.ts';

const dir = mkdtempSync(join(tmpdir(), 'tandem-bsd-shim-'));
const shim = join(dir, 'libbsdshim.so');
let built = false;
if (process.platform === 'linux') {
  writeFileSync(
    join(dir, 'shim.c'),
    [
      '#include <sys/socket.h>',
      'static int calls;',
      'int __socket30(int d, int t, int p) { calls++; return socket(d, t, p); }',
      'int shim_socket30_calls(void) { return calls; }',
      '',
    ].join('\n'),
  );
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-o', shim, join(dir, 'shim.c')], { stdio: 'pipe' });
    built = true;
  } catch (e) {
    console.log(`  no shim library (${(e as Error).message.split('\n')[0]}): these tests did not run`);
  }
}
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const os of BSD_OSES) {
  test(`${os}'s symbol table binds and runs: socket as ${LIBC_SYMBOLS[os].socket}, ioctl, if_nametoindex, getifaddrs`, () => {
    if (!built) return;
    const libc = loadKoffiLibc(LIBC_SYMBOLS[os], 'lp64', { path: shim, sockaddrLength: () => 28 });
    const calls = koffi.load(shim).func('int shim_socket30_calls(void)') as () => number;
    const before = calls();
    const fd = libc.socket(2, 2, 0);
    assert.ok(fd >= 0, 'socket');
    assert.is(calls() - before, os === 'netbsd' ? 1 : 0, `${LIBC_SYMBOLS[os].socket} was the function called`);
    const ifr = new Uint8Array(40);
    ifr.set(Buffer.from('lo'));
    assert.is(libc.ioctl(fd, 0x8913, ifr), 0); // Linux SIOCGIFFLAGS: the call path, not the BSD code
    assert.is(libc.close(fd), 0);
    assert.ok(libc.if_nametoindex('lo') > 0);
    assert.ok(libc.getifaddrs()!.some((e) => e.name === 'lo'));
  });
}

test('the sa_len path: with the BSD default a sockaddr is copied for as many bytes as its first byte says', () => {
  if (!built) return;
  // glibc's AF_INET sockaddr starts 02 00 (sa_family, little-endian): read as a BSD sa_len that is
  // 2, so exactly 2 bytes come back; a sockaddr that says 16 would come back whole.
  const libc = loadKoffiLibc(LIBC_SYMBOLS.netbsd, 'lp64', { path: shim });
  const lo4 = libc.getifaddrs()!.find((e) => e.name === 'lo' && e.addr && e.addr[0] === 2 && e.addr.length === 2);
  assert.ok(lo4, 'an AF_INET entry copied for sa_len = 2 bytes');
  const lo4Whole = loadKoffiLibc(LIBC_SYMBOLS.netbsd, 'lp64', { path: shim, sockaddrLength: () => 16 })
    .getifaddrs()!
    .find((e) => e.name === 'lo' && e.addr && e.addr[0] === 2);
  assert.is(lo4Whole!.addr!.length, 16);
});

test.run();
