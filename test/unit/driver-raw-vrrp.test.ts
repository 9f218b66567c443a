// Raw VRRP sockets for unicast adverts: the Linux sockaddr bytes, the BSD backend's syscalls
// through a recording libc (no BSD kernel here), and the fake driver carrying a unicast advert
// to the one port that holds the destination address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeSockaddrIn,
  encodeSockaddrIn6,
  ifnameValue,
  isLinkLocal6,
  sockaddrFor,
  SOCKADDR_IN6_SIZE,
  SOCKADDR_IN_SIZE,
} from '../../drivers/linux/raw-vrrp.ts';
import { createBsdBackend, type BsdLibc } from '../../drivers/bsd/backend.ts';
import type { LibcSymbols } from '../../drivers/bsd/abi.ts';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { DriverError } from '../../drivers/types.ts';
import { decodeFrame, encodeAdvert, parseIp } from '../../firmware/core/packet/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const ip = (s: string) => {
  const p = parseIp(s);
  if (!p) throw new Error(s);
  return p.bytes;
};

// ---- Linux sockaddrs (linux/in.h, linux/in6.h; little-endian hosts) ----

test('sockaddr_in for 192.0.2.12: family 2 little-endian, port 0, address, 8 zero bytes (vector)', () => {
  assert.is(SOCKADDR_IN_SIZE, 16);
  assert.is(
    hex(encodeSockaddrIn(ip('192.0.2.12'))),
    '0200' + // sin_family AF_INET, host order
      '0000' + // sin_port: unused by raw sockets
      'c000020c' + // sin_addr 192.0.2.12, network order
      '0000000000000000',
  ); // sin_zero
});

test('sockaddr_in6 for a global address: family 10, no flow info, no scope (vector)', () => {
  assert.is(SOCKADDR_IN6_SIZE, 28);
  assert.is(
    hex(encodeSockaddrIn6(ip('2001:db8::12'), 7)),
    '0a00' + // sin6_family AF_INET6
      '0000' + // sin6_port
      '00000000' + // sin6_flowinfo
      '20010db8000000000000000000000012' + // sin6_addr
      '00000000',
  ); // sin6_scope_id: global needs none (RFC 4007 6)
});

test('sockaddr_in6 for a link-local address carries the interface index as its scope (vector)', () => {
  assert.is(
    hex(encodeSockaddrIn6(ip('fe80::1'), 0x0203)),
    '0a00' + '0000' + '00000000' + 'fe800000000000000000000000000001' + '03020000',
  );
  assert.ok(isLinkLocal6(ip('febf::1')));
  assert.not.ok(isLinkLocal6(ip('fec0::1')));
});

test('sockaddrFor: the family must match; text that is not an address gives null', () => {
  assert.is(hex(sockaddrFor(4, '198.51.100.7', 3)!), hex(encodeSockaddrIn(ip('198.51.100.7'))));
  assert.is(hex(sockaddrFor(6, 'fe80::2', 3)!), hex(encodeSockaddrIn6(ip('fe80::2'), 3)));
  assert.is(sockaddrFor(4, '2001:db8::1', 3), null);
  assert.is(sockaddrFor(6, '192.0.2.1', 3), null);
  assert.is(sockaddrFor(4, 'eth0', 3), null);
  assert.throws(() => encodeSockaddrIn(new Uint8Array(16)), RangeError);
});

test('SO_BINDTODEVICE value is the name with its NUL', () => {
  assert.is(hex(ifnameValue('eth0')), '6574683000');
});

// ---- BSD backend, recorded ----

function recordingLibc(o: { failSendto?: number } = {}) {
  const log: string[] = [];
  let errno = 0;
  const load = (s: LibcSymbols): BsdLibc => ({
    socket: (d, t, p) => {
      log.push(`${s.socket}(${d}, 0x${t.toString(16)}, ${p})`);
      return 7;
    },
    ioctl: () => 0,
    close: (f) => {
      log.push(`close(${f})`);
      return 0;
    },
    read: () => 0,
    errno: () => errno,
    if_nametoindex: (n) => (n === 'wm0' ? 2 : 0),
    if_indextoname: () => null,
    getifaddrs: () => [],
    watchReadable: () => ({ close() {} }),
    setsockopt: (f, l, n, v) => {
      log.push(`setsockopt(${f}, ${l}, ${n}, ${hex(v)})`);
      return 0;
    },
    bind: (f, a) => {
      log.push(`bind(${f}, ${hex(a)})`);
      return 0;
    },
    sendto: (f, b, fl, a) => {
      log.push(`sendto(${f}, ${hex(b)}, ${fl}, ${hex(a)})`);
      if (o.failSendto) {
        errno = o.failSendto;
        return -1;
      }
      return b.length;
    },
  });
  return { log, load };
}

test('NetBSD openRawVrrp IPv6: __socket30(AF_INET6 24, SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK, 112), hop limit 255, bind link-local with scope, sendto, close', () => {
  const f = recordingLibc();
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  const raw = d.openRawVrrp('wm0', 6, { src: 'fe80::11' });
  raw.send('2001:db8::12', bytes('31 2a 64 01 00 0a 00 00'));
  raw.close();
  raw.close(); // once only
  assert.equal(f.log, [
    '__socket30(24, 0x30000003, 112)',
    'setsockopt(7, 41, 4, ff000000)', // IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255
    // sin6_len 28, AF_INET6 24, port, flowinfo, fe80::11, scope 2 (wm0)
    'bind(7, 1c18000000000000fe80000000000000000000000000001102000000)',
    'sendto(7, 312a6401000a0000, 0, 1c18000000000000' + '20010db8000000000000000000000012' + '00000000)',
    'close(7)',
  ]);
});

test('FreeBSD openRawVrrp IPv4: AF_INET, IP_TTL 255, sockaddr_in with sin_len; a failed sendto is a DriverError', () => {
  const f = recordingLibc({ failSendto: 65 }); // EHOSTUNREACH on the BSDs
  const d = createBsdBackend('freebsd', { abi: 'lp64', loadLibc: f.load });
  const raw = d.openRawVrrp('wm0', 4);
  try {
    raw.send('192.0.2.12', bytes('3101'));
    assert.unreachable('sendto failed');
  } catch (e) {
    assert.instance(e, DriverError);
    assert.is((e as DriverError).op, 'send-advert');
  }
  assert.equal(f.log, [
    'socket(2, 0x30000003, 112)',
    'setsockopt(7, 0, 4, ff000000)', // IPPROTO_IP, IP_TTL, 255
    'sendto(7, 3101, 0, 1002' + '0000' + 'c000020c' + '0000000000000000)',
  ]);
  d.close();
  assert.is(f.log.at(-1), 'close(7)');
});

test('BSD openRawVrrp refuses an unknown interface and a source of the wrong family before any socket', () => {
  const f = recordingLibc();
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  assert.throws(
    () => d.openRawVrrp('nope0', 4),
    (e: DriverError) => e.code === 'ENXIO',
  );
  assert.throws(
    () => d.openRawVrrp('wm0', 4, { src: '2001:db8::1' }),
    (e: DriverError) => e.code === 'EINVAL',
  );
  assert.equal(f.log, []);
});

// ---- Fake driver: unicast reaches the holder of the address only ----

test('fake: a unicast advert reaches only the port holding dst, TTL 255, checksum over the unicast pseudo-header', async () => {
  const lan = new FakeLan('sync');
  const mk = (addr: string) => {
    const d = new FakeDriver({ links: { eth0: {} } });
    d.addAddress('eth0', addr);
    lan.attach(d, 'eth0');
    return d;
  };
  const [a, b, c] = [mk('192.0.2.11/24'), mk('192.0.2.12/24'), mk('192.0.2.13/24')];
  const got: Record<string, Uint8Array[]> = { b: [], c: [] };
  b.openChannel('eth0', { vrrp: true }).onFrame((f) => got.b.push(f));
  c.openChannel('eth0', { vrrp: true }).onFrame((f) => got.c.push(f));
  const raw = a.openRawVrrp('eth0', 4, { src: '192.0.2.11' });
  const advert = { version: 3 as const, vrid: 42, priority: 200, maxAdverIntervalCs: 10, addresses: ['192.0.2.1'] };
  raw.send('192.0.2.12', encodeAdvert(advert, { family: 4, src: '192.0.2.11', dst: '192.0.2.12' }));
  raw.send('192.0.2.99', encodeAdvert(advert, { family: 4, src: '192.0.2.11', dst: '192.0.2.99' })); // nobody
  assert.is(got.b.length, 1);
  assert.is(got.c.length, 0);
  const d = decodeFrame(got.b[0]);
  assert.ok(d.ok && d.kind === 'vrrp', JSON.stringify(d));
  if (d.ok && d.kind === 'vrrp') {
    assert.is(d.src, '192.0.2.11');
    assert.is(d.dst, '192.0.2.12');
    assert.is(d.ttl, 255);
    assert.is(d.checksumForm, 'pseudo-header');
    assert.is(d.advert.priority, 200);
  }
  assert.is(a.callsOf('raw-send').length, 2);
  raw.close();
  assert.throws(
    () => raw.send('192.0.2.12', new Uint8Array(8)),
    (e: DriverError) => e.code === 'EBADF',
  );
  assert.throws(
    () => a.openRawVrrp('eth0', 6, { src: '192.0.2.11' }),
    (e: DriverError) => e.code === 'EINVAL',
  );
});

test.run();
