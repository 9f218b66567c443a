// The BSD backend driven through a recording fake libc: asserts the exact syscalls (by their
// per-OS symbol names), request codes and argument bytes each Driver call issues. This is the
// best test possible without a BSD kernel; what a kernel would answer is in docs/netbsd.md.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type LibcSymbols, requestCode } from '../../drivers/bsd/abi.ts';
import { createBsdBackend, type BsdLibc, type RawIfaddr } from '../../drivers/bsd/backend.ts';
import { createBsdDriver } from '../../drivers/bsd/index.ts';
import { DriverError, type NetEvent, type PacketChannel } from '../../drivers/types.ts';

interface Call {
  fn: string;
  args: number[];
  hex?: string;
}
type Responder = (arg: Uint8Array, nth: number) => number; // errno, 0 for success

function golden(size: number, fields: [number, string][]): string {
  const b = new Uint8Array(size);
  for (const [off, h] of fields) b.set(Buffer.from(h.replace(/\s/g, ''), 'hex'), off);
  return Buffer.from(b).toString('hex');
}
const hexName = (s: string) => Buffer.from(s).toString('hex');

function fake(
  opts: {
    ioctl?: Record<number, Responder>;
    ifaddrs?: RawIfaddr[];
    indexes?: Record<string, number>;
    reads?: Uint8Array[];
  } = {},
) {
  const log: Call[] = [];
  let errno = 0,
    fd = 10;
  const seen = new Map<number, number>();
  let readable: (() => void) | null = null;
  let pollClosed = false;
  const reads = [...(opts.reads ?? [])];
  const load = (s: LibcSymbols): BsdLibc => ({
    socket: (d, t, p) => {
      log.push({ fn: s.socket, args: [d, t, p] });
      return fd++;
    },
    ioctl: (f, rq, arg) => {
      log.push({ fn: s.ioctl, args: [f, rq], hex: Buffer.from(arg).toString('hex') });
      const n = seen.get(rq) ?? 0;
      seen.set(rq, n + 1);
      const e = opts.ioctl?.[rq]?.(arg, n) ?? 0;
      if (e) {
        errno = e;
        return -1;
      }
      return 0;
    },
    close: (f) => {
      log.push({ fn: s.close, args: [f] });
      return 0;
    },
    read: (_f, buf) => {
      const m = reads.shift();
      if (!m) return 0;
      buf.set(m);
      return m.length;
    },
    errno: () => errno,
    if_nametoindex: (n) => opts.indexes?.[n] ?? 0,
    if_indextoname: (i) => Object.entries(opts.indexes ?? {}).find(([, v]) => v === i)?.[0] ?? null,
    getifaddrs: () => opts.ifaddrs ?? [],
    watchReadable: (_f, cb) => {
      readable = cb;
      return {
        close: () => {
          pollClosed = true;
        },
      };
    },
  });
  return {
    log,
    load,
    fire: () => readable?.(),
    pollClosed: () => pollClosed,
    brief: () =>
      log.map(
        (c) => `${c.fn}(${c.args.map((a) => (a > 0xffff ? `0x${a.toString(16).toUpperCase()}` : a)).join(', ')})`,
      ),
  };
}

const MAC = '00:00:5e:00:01:2a';

test('NetBSD setMac: __socket30(AF_LINK, SOCK_DGRAM, 0), SIOCALIFADDR 0x8118691C with IFLR_ACTIVE, close', () => {
  const f = fake();
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).setMac('wm0', MAC);
  assert.equal(f.brief(), ['__socket30(18, 2, 0)', 'ioctl(10, 0x8118691C)', 'close(10)']);
  assert.is(
    f.log[1].hex,
    golden(280, [
      [0, hexName('wm0')],
      [16, '00400000'],
      [24, '20 12 0000 00 00 06 00'],
      [32, '00005e00012a'],
    ]),
  );
});

test('FreeBSD and OpenBSD setMac: socket(AF_INET) and SIOCSIFLLADDR on a 32-byte ifreq', () => {
  for (const [os, rq] of [
    ['freebsd', '0x8020693C'],
    ['openbsd', '0x8020691F'],
  ] as const) {
    const f = fake();
    createBsdBackend(os, { abi: 'i386', loadLibc: f.load }).setMac('em0', MAC);
    assert.equal(f.brief(), ['socket(2, 2, 0)', `ioctl(10, ${rq})`, 'close(10)'], os);
    assert.is(
      f.log[1].hex,
      golden(32, [
        [0, hexName('em0')],
        [16, '06 12 00005e00012a'],
      ]),
      os,
    );
  }
});

test('setMac refused with EBUSY: reported in BSD words, socket still closed', () => {
  const f = fake({ ioctl: { 2149607740: () => 16 } });
  const d = createBsdBackend('freebsd', { abi: 'lp64', loadLibc: f.load });
  try {
    d.setMac('em0', MAC);
    assert.unreachable('no throw');
  } catch (e) {
    assert.instance(e, DriverError);
    const err = e as DriverError;
    assert.equal([err.op, err.ifname, err.errno, err.code], ['set-mac', 'em0', 16, 'EBUSY']);
  }
  assert.is(f.brief().at(-1), 'close(10)');
});

test('setMac with cycleLink: down, set, up when the first try answers EBUSY', () => {
  let up = true;
  const f = fake({
    ioctl: {
      2149607740: (_a, n) => (n === 0 ? 16 : 0),
      3223349521: (a) => {
        a[16] = up ? 0x43 : 0x42;
        a[17] = 0x88;
        return 0;
      }, // SIOCGIFFLAGS
      2149607696: (a) => {
        up = (a[16] & 1) === 1;
        return 0;
      }, // SIOCSIFFLAGS
    },
  });
  createBsdBackend('freebsd', { abi: 'lp64', loadLibc: f.load }).setMac('em0', MAC, { cycleLink: true });
  assert.equal(
    f
      .brief()
      .filter((c) => c.startsWith('ioctl'))
      .map((c) => c.replace(/^ioctl\(\d+, /, '')),
    ['0x8020693C)', '0xC0206911)', '0x80206910)', '0x8020693C)', '0xC0206911)', '0x80206910)'],
  );
  assert.ok(up, 'link brought back up');
});

test('setUp reads the flags, sets IFF_UP, sends the same ifreq back (NetBSD 144 bytes)', () => {
  const f = fake({
    ioctl: {
      3230689553: (a) => {
        a[16] = 0x42;
        a[17] = 0x88;
        a[40] = 0x99;
        return 0;
      },
    },
  });
  createBsdBackend('netbsd', { abi: 'arm32', loadLibc: f.load }).setUp('wm0', true);
  assert.equal(f.brief(), ['__socket30(2, 2, 0)', 'ioctl(10, 0xC0906911)', 'ioctl(10, 0x80906910)', 'close(10)']);
  assert.is(
    f.log[2].hex,
    golden(144, [
      [0, hexName('wm0')],
      [16, '4388'],
      [40, '99'],
    ]),
  );
});

test('setUp(true) on an up interface issues no SIOCSIFFLAGS', () => {
  const f = fake({
    ioctl: {
      3230689553: (a) => {
        a[16] = 0x43;
        return 0;
      },
    },
  });
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).setUp('wm0', true);
  assert.equal(f.brief(), ['__socket30(2, 2, 0)', 'ioctl(10, 0xC0906911)', 'close(10)']);
});

test('NetBSD addAddress v4: SIOCAIFADDR 0x8040691A with a 64-byte in_aliasreq', () => {
  const f = fake();
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).addAddress('wm0', '192.0.2.10/24');
  assert.equal(f.brief(), ['__socket30(2, 2, 0)', 'ioctl(10, 0x8040691A)', 'close(10)']);
  assert.is(
    f.log[1].hex,
    golden(64, [
      [0, hexName('wm0')],
      [16, '1002 0000 c000020a'],
      [32, '1002 0000 c00002ff'],
      [48, '1002 0000 ffffff00'],
    ]),
  );
});

test('NetBSD addAddress v6: AF_INET6 (24) socket, SIOCAIFADDR_IN6 0x8080696B with NODAD and infinite lifetimes', () => {
  const f = fake();
  createBsdBackend('netbsd', { abi: 'i386', loadLibc: f.load }).addAddress('wm0', '2001:db8::12/64');
  assert.equal(f.brief(), ['__socket30(24, 2, 0)', 'ioctl(10, 0x8080696B)', 'close(10)']);
  assert.is(
    f.log[1].hex,
    golden(128, [
      [0, hexName('wm0')],
      [16, '1c18 0000 00000000 20010db8000000000000000000000012'],
      [72, '1c18 0000 00000000 ffffffffffffffff'],
      [100, '20000000'],
      [120, 'ffffffffffffffff'],
    ]),
  );
});

test('link-local IPv6 carries the interface index as sin6_scope_id', () => {
  const f = fake({ indexes: { wm0: 2 } });
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).removeAddress('wm0', 'fe80::1/64');
  assert.equal(f.brief(), ['__socket30(24, 2, 0)', 'ioctl(10, 0x81206919)', 'close(10)']);
  assert.is(
    f.log[1].hex,
    golden(288, [
      [0, hexName('wm0')],
      [16, '1c18 0000 00000000 fe800000000000000000000000000001 02000000'],
    ]),
  );
});

test('removeAddress: SIOCDIFADDR 0x80906919; a missing address (EADDRNOTAVAIL 49) is not an error', () => {
  const f = fake({ ioctl: { 2156947737: () => 49 } });
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).removeAddress('wm0', '192.0.2.10/24');
  assert.equal(f.brief(), ['__socket30(2, 2, 0)', 'ioctl(10, 0x80906919)', 'close(10)']);
  assert.is(
    f.log[1].hex,
    golden(144, [
      [0, hexName('wm0')],
      [16, '1002 0000 c000020a'],
    ]),
  );
});

test('a refusal is a DriverError in BSD words with a hint (EPERM 1 -> not root)', () => {
  const f = fake({ ioctl: { 2151704858: () => 1 } });
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  assert.throws(
    () => d.addAddress('wm0', '192.0.2.10/24'),
    (e: DriverError) => e.code === 'EPERM' && /not root/.test(e.hint) && e.op === 'add-address',
  );
  assert.is(f.brief().at(-1), 'close(10)');
});

test('joinMulticast 224.0.0.18 on NetBSD: SIOCADDMULTI 0x80906931 with AF_UNSPEC 01:00:5e:00:00:12', () => {
  const f = fake();
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).joinMulticast('wm0', '224.0.0.18');
  assert.equal(f.brief(), ['__socket30(2, 2, 0)', 'ioctl(10, 0x80906931)', 'close(10)']);
  assert.is(
    f.log[1].hex,
    golden(144, [
      [0, hexName('wm0')],
      [16, '1000 01005e000012'],
    ]),
  );
});

const sdl = (name: string, index: number, mac: string) =>
  Buffer.from(
    golden(32, [
      [0, '2012'],
      [2, Buffer.from([index, 0]).toString('hex')],
      [4, '06'],
      [5, Buffer.from([name.length]).toString('hex')],
      [6, '06'],
      [8, hexName(name) + mac.replace(/:/g, '')],
    ]),
    'hex',
  );
const IFADDRS: RawIfaddr[] = [
  {
    name: 'wm0',
    flags: 0x8843,
    addr: sdl('wm0', 2, '00:1b:21:0a:0b:0c'),
    netmask: null,
    data: Buffer.from(
      golden(16, [
        [0, '0606 0e'],
        [4, '02000000'],
        [8, 'dc05000000000000'],
      ]),
      'hex',
    ),
  },
  {
    name: 'wm0',
    flags: 0x8843,
    addr: Buffer.from('10020000c000020a0000000000000000', 'hex'),
    netmask: Buffer.from('0702 0000 ffffff'.replace(/ /g, ''), 'hex'),
    data: null,
  },
  {
    name: 'wm0',
    flags: 0x8843,
    addr: Buffer.from('1c18000000000000fe80000200000000000000000000000100000000', 'hex'), // fe80:2::1: KAME scope 2 embedded
    netmask: Buffer.from(
      golden(28, [
        [0, '1c18'],
        [8, 'ffffffffffffffff'],
      ]),
      'hex',
    ),
    data: null,
  },
  {
    name: 'wm1',
    flags: 0x8802,
    addr: sdl('wm1', 3, '00:1b:21:0a:0b:0d'),
    netmask: null,
    data: Buffer.from(
      golden(16, [
        [4, '01000000'],
        [8, 'dc05000000000000'],
      ]),
      'hex',
    ),
  },
];

test('link() from getifaddrs: MAC from the AF_LINK sockaddr_dl, up from IFF_UP, carrier and MTU from if_data', () => {
  const f = fake({ ifaddrs: IFADDRS, indexes: { wm0: 2, wm1: 3 } });
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  assert.equal(d.link('wm0'), {
    ifname: 'wm0',
    index: 2,
    mac: '00:1b:21:0a:0b:0c',
    up: true,
    carrier: true,
    mtu: 1500,
  });
  assert.equal(d.link('wm1'), {
    ifname: 'wm1',
    index: 3,
    mac: '00:1b:21:0a:0b:0d',
    up: false,
    carrier: false,
    mtu: 1500,
  });
  assert.is(d.getMac('wm0'), '00:1b:21:0a:0b:0c');
  assert.throws(
    () => d.link('wm9'),
    (e: DriverError) => e.code === 'ENXIO',
  );
});

test('listAddresses: v4 with a trimmed mask and a KAME-scoped link-local, as addr/prefix', () => {
  const f = fake({ ifaddrs: IFADDRS });
  assert.equal(createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).listAddresses('wm0'), [
    '192.0.2.10/24',
    'fe80::1/64',
  ]);
});

test('createMacvlan is ENOTSUP with a hint to use mac_mode move; deleteLink of a missing name is a no-op', () => {
  const f = fake({ indexes: { wm0: 2 } });
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  assert.throws(
    () => d.createMacvlan('wm0', 'vrrp1', '00:00:5e:00:01:01'),
    (e: DriverError) => e.code === 'ENOTSUP' && /mac_mode move/.test(e.hint),
  );
  d.deleteLink('vrrp1');
  assert.throws(
    () => d.deleteLink('wm0'),
    (e: DriverError) => e.code === 'ENOTSUP',
  );
  assert.equal(f.log, []);
});

test('watch: a PF_ROUTE (34) raw socket; RTM_IFINFO and RTM_NEWADDR become NetEvents; stop closes it', () => {
  const ifinfo = Buffer.from(
    golden(152, [
      [0, '9800'],
      [2, '04'],
      [3, '14'],
      [8, '43880000'],
      [12, '0200'],
      [20, '01000000'],
    ]),
    'hex',
  );
  const newaddr = Buffer.from(
    golden(56, [
      [0, '3800'],
      [2, '04'],
      [3, '16'],
      [4, '0200'],
      [12, '24000000'],
      [32, '0702 0000 ffffff'],
      [40, '1002 0000 c000020a'],
    ]),
    'hex',
  );
  const gone = Buffer.from(
    golden(24, [
      [0, '1800'],
      [2, '04'],
      [3, '10'],
      [4, '0200'],
      [6, hexName('wm0')],
      [22, '0100'],
    ]),
    'hex',
  );
  const f = fake({ indexes: { wm0: 2 }, reads: [ifinfo, newaddr, gone] });
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  const events: NetEvent[] = [];
  const stop = d.watch((e) => events.push(e));
  f.fire();
  f.fire();
  f.fire();
  f.fire(); // the fourth read returns nothing
  assert.equal(events, [
    { type: 'link', ifname: 'wm0', index: 2, up: true, carrier: false },
    { type: 'address-added', ifname: 'wm0', index: 2, address: '192.0.2.10', prefixLength: 24 },
    { type: 'link-removed', ifname: 'wm0', index: 2 },
  ]);
  stop();
  assert.equal(f.brief(), ['__socket30(34, 0x10000003, 0)', 'close(10)']);
  assert.ok(f.pollClosed());
});

test('close() stops every watcher', () => {
  const f = fake();
  const d = createBsdBackend('openbsd', { abi: 'lp64', loadLibc: f.load });
  d.watch(() => {});
  d.close();
  assert.equal(f.brief(), ['socket(17, 32771, 0)', 'close(10)']); // SOCK_RAW | OpenBSD SOCK_CLOEXEC 0x8000
});

test('openChannel joins the VRRP group MACs for the channel and leaves them on close', () => {
  const f = fake();
  const sent: Uint8Array[] = [];
  let closed = false;
  const d = createBsdBackend('netbsd', {
    abi: 'lp64',
    loadLibc: f.load,
    openChannel: (ifname): PacketChannel => ({
      ifname,
      send: (fr) => sent.push(fr),
      onFrame: () => {},
      close: () => {
        closed = true;
      },
      dropped: () => 0,
    }),
  });
  const ch = d.openChannel('wm0');
  ch.send(new Uint8Array(60));
  ch.close();
  ch.close();
  const ioctls = f.log.filter((c) => c.fn === 'ioctl').map((c) => [c.args[1], c.hex!.slice(32, 48)]);
  assert.equal(ioctls, [
    [0x80906931, '100001005e000012'],
    [0x80906931, '1000333300000012'],
    [0x80906932, '100001005e000012'],
    [0x80906932, '1000333300000012'],
  ]);
  assert.ok(closed);
  assert.is(sent.length, 1);
});

test('without a channel opener openChannel is ENOTSUP, and nothing is joined', () => {
  const f = fake();
  assert.throws(
    () => createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).openChannel('wm0'),
    (e: DriverError) => e.code === 'ENOTSUP',
  );
  assert.equal(f.log, []);
});

test('createBsdDriver wires the per-OS symbol table and the ABI into the backend', () => {
  const f = fake();
  const d = createBsdDriver('netbsd', { abi: 'i386', loadLibc: f.load });
  assert.is(d.os, 'netbsd');
  d.setMac('wm0', MAC);
  assert.equal(f.brief(), ['__socket30(18, 2, 0)', 'ioctl(10, 0x8118691C)', 'close(10)']);
});

// NetBSD after a MAC change: the factory address (with if_data) first, the active one appended
// (sys/net/rtsock.c sysctl_iflist; lib/libc/net/getifaddrs.c 1.15 gives both the same data).
const FACTORY = '00:1b:21:0a:0b:0c';
const VMAC = '00:00:5e:00:01:33';
const twoLinkAddresses = (): RawIfaddr[] => [IFADDRS[0], { ...IFADDRS[0], addr: sdl('wm0', 2, VMAC), data: null }];
const GLIFADDR = requestCode('netbsd', 'lp64', 'SIOCGLIFADDR')!;
const DLIFADDR = requestCode('netbsd', 'lp64', 'SIOCDLIFADDR')!;
const ALIFADDR = requestCode('netbsd', 'lp64', 'SIOCALIFADDR')!;
/** A kernel that answers SIOCGLIFADDR (sys/net/if.h 1.304 if_laddrreq: flags at 16, addr at 24)
 *  with IFLR_ACTIVE for `active` and IFLR_FACTORY for the factory address. */
const lifaddr = (active: string) => (arg: Uint8Array) => {
  const mac = Buffer.from(arg.subarray(24 + 8 + 3, 24 + 8 + 3 + 6)).toString('hex'); // after "wm0"
  const v = new DataView(arg.buffer, arg.byteOffset);
  const IFLR_ACTIVE = 0x4000,
    IFLR_FACTORY = 0x2000;
  let flags = v.getUint32(16, true);
  if (mac === active.replace(/:/g, '')) flags |= IFLR_ACTIVE;
  if (mac === FACTORY.replace(/:/g, '')) flags |= IFLR_FACTORY;
  v.setUint32(16, flags, true);
  return 0;
};

test('NetBSD link(): with two link addresses the active one comes from SIOCGLIFADDR, not the entry with if_data', () => {
  const f = fake({ ifaddrs: twoLinkAddresses(), indexes: { wm0: 2 }, ioctl: { [GLIFADDR]: lifaddr(VMAC) } });
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  assert.equal(d.link('wm0'), { ifname: 'wm0', index: 2, mac: VMAC, up: true, carrier: true, mtu: 1500 });
  // As ifconfig: an AF_LINK datagram socket, IFLR_PREFIX (0x8000) and prefixlen 48, per entry.
  const asks = f.log.filter((c) => c.fn === 'ioctl');
  assert.is(asks.length, 2);
  assert.ok(asks.every((c) => c.args[1] === GLIFADDR && c.hex!.slice(32, 48) === '0080000030000000'));
  assert.ok(f.log.some((c) => c.fn === '__socket30' && c.args[0] === 18));
});

test('NetBSD link(): one link address needs no SIOCGLIFADDR', () => {
  const f = fake({ ifaddrs: IFADDRS, indexes: { wm0: 2 } });
  createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load }).link('wm0');
  assert.is(f.log.filter((c) => c.fn === 'ioctl').length, 0);
});

test('NetBSD setMac back to the factory MAC removes the replaced one with SIOCDLIFADDR (no pile-up)', () => {
  const f = fake({ ifaddrs: twoLinkAddresses(), indexes: { wm0: 2 }, ioctl: { [GLIFADDR]: lifaddr(FACTORY) } });
  const d = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: f.load });
  d.setMac('wm0', FACTORY);
  const ioctls = f.log.filter((c) => c.fn === 'ioctl');
  assert.equal(
    ioctls.map((c) => c.args[1]),
    [ALIFADDR, GLIFADDR, GLIFADDR, DLIFADDR],
  );
  const del = ioctls[3].hex!;
  assert.is(
    del.slice(2 * (24 + 8 + 3), 2 * (24 + 8 + 3 + 6)),
    VMAC.replace(/:/g, ''),
    'SIOCDLIFADDR names the replaced MAC',
  );
  // The factory address is never deleted (the kernel would refuse it with EBUSY anyway).
  assert.is(ioctls.filter((c) => c.args[1] === DLIFADDR).length, 1);
});

test('openRawVrrp: the raw VRRP socket is non-blocking on every BSD, as on Linux (sys/socket.h SOCK_NONBLOCK)', () => {
  const NONBLOCK = { netbsd: 0x20000000, freebsd: 0x20000000, openbsd: 0x4000 } as const;
  for (const os of ['netbsd', 'freebsd', 'openbsd'] as const) {
    const f = fake({ indexes: { wm0: 2 } });
    const load = (s: LibcSymbols): BsdLibc => ({
      ...f.load(s),
      setsockopt: () => 0,
      bind: () => 0,
      sendto: (_fd, b) => b.length,
    });
    const raw = createBsdBackend(os, { abi: 'lp64', loadLibc: load }).openRawVrrp('wm0', 4);
    const sock = f.log.find((c) => c.args[2] === 112)!;
    assert.ok(sock, `${os}: socket(AF_INET, SOCK_RAW, 112)`);
    assert.ok((sock.args[1] & NONBLOCK[os]) !== 0, `${os}: type 0x${sock.args[1].toString(16)} lacks SOCK_NONBLOCK`);
    raw.close();
  }
});

test.run();
