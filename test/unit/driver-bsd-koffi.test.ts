// drivers/bsd/libc-koffi.ts cannot load a BSD libc here, but its prototypes are the POSIX ones,
// and struct ifaddrs starts the same way in glibc. Loading it against glibc with the plain symbol
// names runs every declaration and the pointer walk for real: a wrong prototype, a bad struct
// definition or a signed request code would show here. Linux only; no root needed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LIBC_SYMBOLS } from '../../drivers/bsd/abi.ts';
import { loadKoffiLibc } from '../../drivers/bsd/libc-koffi.ts';

const onLinux = process.platform === 'linux';
// glibc sockaddrs have no sa_len: copy a whole sockaddr_in6-sized block instead.
const libc = onLinux
  ? loadKoffiLibc(LIBC_SYMBOLS.freebsd, 'lp64', { path: 'libc.so.6', sockaddrLength: () => 28 })
  : null;

test('the koffi binding loads every declaration against glibc', () => {
  if (!libc) return;
  assert.type(libc.socket, 'function');
});

test('if_nametoindex / if_indextoname agree on the loopback interface', () => {
  if (!libc) return;
  const index = libc.if_nametoindex('lo');
  assert.ok(index > 0);
  assert.is(libc.if_indextoname(index), 'lo');
  assert.is(libc.if_nametoindex('tandem-none0'), 0);
  assert.is(libc.if_indextoname(0x7ffffff0), null);
});

test('getifaddrs walks the list and copies names, flags and sockaddrs', () => {
  if (!libc) return;
  const all = libc.getifaddrs();
  assert.ok(all && all.length > 0);
  const lo4 = all!.find((e) => e.name === 'lo' && e.addr && e.addr[0] === 2); // glibc AF_INET, u16 LE
  assert.ok(lo4, 'an AF_INET entry for lo');
  assert.is(Buffer.from(lo4!.addr!.subarray(4, 8)).toString('hex'), '7f000001');
  assert.ok((lo4!.flags & 0x1) === 1, 'IFF_UP');
});

test('ioctl passes the request as unsigned long and the buffer by pointer (SIOCGIFFLAGS on lo)', () => {
  if (!libc) return;
  const fd = libc.socket(2, 2, 0);
  assert.ok(fd >= 0);
  try {
    const ifr = new Uint8Array(40);
    ifr.set(Buffer.from('lo'));
    assert.is(libc.ioctl(fd, 0x8913, ifr), 0); // Linux SIOCGIFFLAGS
    assert.ok((ifr[16] & 0x1) === 1, 'the kernel wrote IFF_UP into our buffer');
    // A BSD code >= 0x80000000 goes through as a number the kernel does not know: ENOTTY (25),
    // not a conversion error in the binding.
    assert.is(libc.ioctl(fd, 0x8118691c, new Uint8Array(280)), -1);
    assert.is(libc.errno(), 25);
  } finally {
    libc.close(fd);
  }
});

test('read returns -1 with errno on a closed descriptor', () => {
  if (!libc) return;
  const fd = libc.socket(2, 2, 0);
  libc.close(fd);
  assert.is(libc.read(fd, new Uint8Array(16)), -1);
  assert.is(libc.errno(), 9); // EBADF
});

test('watchReadable calls back when the descriptor has data, and stops on close', async () => {
  if (!libc) return;
  // A UDP socket bound by Node would not give us its fd; use a libc one and send to it via Node.
  const { createSocket } = await import('node:dgram');
  const fd = libc.socket(2, 2, 0);
  const bindFn = (await import('koffi')).default.load('libc.so.6').func('int bind(int, const uint8_t *, uint32_t)');
  const sin = new Uint8Array(16);
  sin[0] = 2;
  sin.set([127, 0, 0, 1], 4); // port 0: any
  assert.is(bindFn(fd, sin, 16), 0);
  const getsockname = (await import('koffi')).default
    .load('libc.so.6')
    .func('int getsockname(int, _Out_ uint8_t *, _Inout_ uint32_t *)');
  const len = [16];
  assert.is(getsockname(fd, sin, len), 0);
  const port = (sin[2] << 8) | sin[3];
  let hits = 0;
  const w = libc.watchReadable(fd, () => {
    hits++;
    libc.read(fd, new Uint8Array(64));
  });
  const tx = createSocket('udp4');
  try {
    await new Promise<void>((res, rej) => tx.send(Buffer.from('x'), port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    const t0 = Date.now();
    while (hits === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(hits >= 1, 'readable callback');
  } finally {
    w.close();
    tx.close();
    libc.close(fd);
  }
});

test.run();
