// Golden bytes for drivers/bsd/structs.ts. Each expectation is a zero buffer of the struct size
// given in shared/facts/ioctl.md section 3, with every field written at the offset the facts
// give (one line per field), then compared as hex so a failure points at the byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BSD_ABIS, type BsdAbi } from '../../drivers/bsd/abi.ts';
import {
  decodeIfData,
  decodeSockaddr,
  encodeIfreq,
  encodeIfreqLladdr,
  encodeIfreqMulti,
  encodeIn6AliasReq,
  encodeIn6Ifreq,
  encodeInAliasReq,
  encodeSetActiveMac,
  encodeSockaddrDl,
  encodeSockaddrIn,
  encodeSockaddrIn6,
  formatIPv6,
  groupMac,
  ifreqFlags,
  parseCidr,
  parseIPv6,
  parseMac,
  setIfreqFlags,
  sockaddrMaskPrefix,
} from '../../drivers/bsd/structs.ts';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A `size`-byte buffer with each [offset, hex] field written in. */
function golden(size: number, fields: [number, string][]): string {
  const b = new Uint8Array(size);
  for (const [off, h] of fields) b.set(Buffer.from(h.replace(/\s/g, ''), 'hex'), off);
  return toHex(b);
}
const MAC = parseMac('00:00:5e:00:01:2a')!;
const name = (s: string) => Buffer.from(s).toString('hex');

for (const abi of BSD_ABIS) {
  test(`NetBSD if_laddrreq for SIOCALIFADDR + IFLR_ACTIVE is 280 bytes, sockaddr_dl at 24 (${abi})`, () => {
    assert.is(encodeSetActiveMac(abi, 'wm0', MAC).length, 280);
    assert.is(
      toHex(encodeSetActiveMac(abi, 'wm0', MAC)),
      golden(280, [
        [0, name('wm0')], // iflr_name
        [16, '00400000'], // flags = IFLR_ACTIVE 0x4000
        [20, '00000000'], // prefixlen
        [24, '20'], // sdl_len = 32 (sizeof sockaddr_dl)
        [25, '12'], // sdl_family = AF_LINK 18
        [26, '0000'], // sdl_index: the kernel fills it
        [28, '00'], // sdl_type
        [29, '00'], // sdl_nlen
        [30, '06'], // sdl_alen
        [31, '00'], // sdl_slen
        [32, '00005e00012a'], // the MAC at data + nlen
      ]),
    );
  });

  test(`NetBSD in_aliasreq for SIOCAIFADDR, 64 bytes (${abi})`, () => {
    const a = parseCidr('192.0.2.10/24')!;
    assert.is(
      toHex(encodeInAliasReq('netbsd', abi, 'wm0', a.address, 24)),
      golden(64, [
        [0, name('wm0')],
        [16, '1002 0000 c000020a'], // ifra_addr: len 16, AF_INET, port, 192.0.2.10
        [32, '1002 0000 c00002ff'], // ifra_broadaddr 192.0.2.255
        [48, '1002 0000 ffffff00'], // ifra_mask /24
      ]),
    );
  });

  test(`NetBSD in6_aliasreq: NODAD at 100, infinite lifetimes at 120/124, 128 bytes (${abi})`, () => {
    const a = parseCidr('2001:db8::1/64')!;
    assert.is(
      toHex(encodeIn6AliasReq('netbsd', abi, 'wm0', a.address, 64)),
      golden(128, [
        [0, name('wm0')],
        [16, '1c18 0000 00000000 20010db8000000000000000000000001 00000000'], // ifra_addr, AF_INET6 = 24
        [72, '1c18 0000 00000000 ffffffffffffffff0000000000000000 00000000'], // ifra_prefixmask /64
        [100, '20000000'], // IN6_IFF_NODAD
        [104, '0000000000000000 0000000000000000'], // expire, preferred (time_t 8)
        [120, 'ffffffff ffffffff'], // vltime, pltime
      ]),
    );
  });

  test(`NetBSD in6_ifreq for SIOCDIFADDR_IN6, 288 bytes, link-local scope id (${abi})`, () => {
    assert.is(
      toHex(encodeIn6Ifreq('netbsd', abi, 'wm0', parseIPv6('fe80::1')!, 2)),
      golden(288, [
        [0, name('wm0')],
        [16, '1c18 0000 00000000 fe800000000000000000000000000001 02000000'],
      ]),
    );
  });
}

test('NetBSD ifreq is 144 bytes: SIOCDIFADDR with a sockaddr_in at 16', () => {
  assert.is(
    toHex(encodeIfreq('netbsd', 'lp64', 'wm0', encodeSockaddrIn(parseCidr('192.0.2.10')!.address))),
    golden(144, [
      [0, name('wm0')],
      [16, '1002 0000 c000020a'],
    ]),
  );
});

test('ifr_flags is a short at 16, the rest of the ifreq kept; FreeBSD flagshigh at 18', () => {
  const r = encodeIfreq('netbsd', 'lp64', 'wm0');
  r[40] = 0x77;
  setIfreqFlags('netbsd', r, 0x8843);
  assert.is(
    toHex(r),
    golden(144, [
      [0, name('wm0')],
      [16, '4388'],
      [40, '77'],
    ]),
  );
  assert.is(ifreqFlags('netbsd', r), 0x8843);
  const f = encodeIfreq('freebsd', 'lp64', 'em0');
  setIfreqFlags('freebsd', f, 0x00028843);
  assert.is(
    toHex(f),
    golden(32, [
      [0, name('em0')],
      [16, '4388 0200'],
    ]),
  );
  assert.is(ifreqFlags('freebsd', f), 0x28843);
});

test('FreeBSD and OpenBSD SIOCSIFLLADDR ifreq: 32 bytes, sa_len 6, AF_LINK, MAC in sa_data (facts 6)', () => {
  for (const os of ['freebsd', 'openbsd'] as const) {
    for (const abi of BSD_ABIS) {
      assert.is(
        toHex(encodeIfreqLladdr(os, abi, 'em0', MAC)),
        golden(32, [
          [0, name('em0')],
          [16, '06'],
          [17, '12'],
          [18, '00005e00012a'],
        ]),
        `${os} ${abi}`,
      );
    }
  }
});

test('FreeBSD ifaliasreq is 68 bytes with ifra_vhid 0 at 64; OpenBSD 64', () => {
  const a = parseCidr('198.51.100.7/30')!;
  const fields: [number, string][] = [
    [0, name('em0')],
    [16, '1002 0000 c6336407'],
    [32, '1002 0000 c6336407'],
    [48, '1002 0000 fffffffc'],
  ];
  assert.is(toHex(encodeInAliasReq('freebsd', 'lp64', 'em0', a.address, 30)), golden(68, fields));
  assert.is(toHex(encodeInAliasReq('openbsd', 'i386', 'em0', a.address, 30)), golden(64, fields));
});

test('a /32 or /31 gets no broadcast address', () => {
  const a = parseCidr('192.0.2.1/32')!;
  assert.is(
    toHex(encodeInAliasReq('netbsd', 'lp64', 'wm0', a.address, 32)),
    golden(64, [
      [0, name('wm0')],
      [16, '1002 0000 c0000201'],
      [48, '1002 0000 ffffffff'],
    ]),
  );
});

test('FreeBSD in6_aliasreq: AF_INET6 28, 136 bytes on LP64/armv7, 124 on i386 with 4-byte time_t (facts 3.2)', () => {
  const a = parseIPv6('2001:db8::12')!;
  const common: [number, string][] = [
    [0, name('em0')],
    [16, '1c1c 0000 00000000 20010db8000000000000000000000012 00000000'],
    [72, '1c1c 0000 00000000 ffffffffffffffff0000000000000000 00000000'],
    [100, '20000000'],
  ];
  for (const abi of ['lp64', 'arm32'] as BsdAbi[]) {
    assert.is(
      toHex(encodeIn6AliasReq('freebsd', abi, 'em0', a, 64)),
      golden(136, [...common, [120, 'ffffffffffffffff']]),
      abi,
    );
  }
  assert.is(
    toHex(encodeIn6AliasReq('freebsd', 'i386', 'em0', a, 64)),
    golden(124, [...common, [112, 'ffffffffffffffff']]),
  );
});

test('OpenBSD in6_aliasreq: 128 bytes, no NODAD flag (facts 2.3)', () => {
  const a = parseIPv6('2001:db8::12')!;
  assert.is(
    toHex(encodeIn6AliasReq('openbsd', 'lp64', 'em0', a, 64)),
    golden(128, [
      [0, name('em0')],
      [16, '1c18 0000 00000000 20010db8000000000000000000000012 00000000'],
      [72, '1c18 0000 00000000 ffffffffffffffff0000000000000000 00000000'],
      [120, 'ffffffffffffffff'],
    ]),
  );
});

test('SIOCADDMULTI ifreq: AF_UNSPEC + MAC on NetBSD/OpenBSD, a 14-byte AF_LINK sockaddr_dl on FreeBSD', () => {
  const g = groupMac('224.0.0.18')!;
  assert.is(
    toHex(encodeIfreqMulti('netbsd', 'lp64', 'wm0', g)),
    golden(144, [
      [0, name('wm0')],
      [16, '10 00 01005e000012'],
    ]),
  );
  assert.is(
    toHex(encodeIfreqMulti('openbsd', 'lp64', 'em0', g)),
    golden(32, [
      [0, name('em0')],
      [16, '10 00 01005e000012'],
    ]),
  );
  assert.is(
    toHex(encodeIfreqMulti('freebsd', 'lp64', 'em0', g)),
    golden(32, [
      [0, name('em0')],
      [16, '0e 12 0000 00 00 06 00 01005e000012'],
    ]),
  );
});

test('group MACs: RFC 1112 6.4 and RFC 2464 7; unicast refused', () => {
  assert.is(toHex(groupMac('224.0.0.18')!), '01005e000012');
  assert.is(toHex(groupMac('239.129.1.2')!), '01005e010102');
  assert.is(toHex(groupMac('ff02::12')!), '333300000012');
  assert.is(toHex(groupMac('01:00:5e:00:00:12')!), '01005e000012');
  assert.is(groupMac('192.0.2.1'), null);
  assert.is(groupMac('2001:db8::1'), null);
  assert.is(groupMac('00:00:5e:00:01:01'), null);
});

test('an interface name that does not fit IFNAMSIZ is refused', () => {
  assert.throws(() => encodeIfreq('netbsd', 'lp64', 'x'.repeat(16)), /IFNAMSIZ/);
  assert.throws(() => encodeIfreq('netbsd', 'lp64', ''), /IFNAMSIZ/);
});

test('sockaddrs decode back to what was encoded (mirror)', () => {
  const in4 = decodeSockaddr('netbsd', encodeSockaddrIn(parseCidr('192.0.2.33')!.address));
  assert.equal(in4 && in4.family === 'inet' ? in4.address : null, '192.0.2.33');
  const in6 = decodeSockaddr('freebsd', encodeSockaddrIn6('freebsd', parseIPv6('2001:db8::5')!, 0));
  assert.ok(in6 && in6.family === 'inet6' && in6.address === '2001:db8::5');
  const dl = decodeSockaddr('netbsd', encodeSockaddrDl('netbsd', { index: 3, type: 6, name: 'wm0', mac: MAC }));
  assert.equal(dl, { family: 'link', index: 3, type: 6, name: 'wm0', mac: '00:00:5e:00:01:2a' });
});

test('routing-socket netmasks may be trimmed: missing bytes read as zero, sa_len 0 is /0', () => {
  assert.is(sockaddrMaskPrefix('netbsd', Uint8Array.from([7, 2, 0, 0, 0xff, 0xff, 0xff]), 'inet'), 24);
  assert.is(sockaddrMaskPrefix('netbsd', Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0]), 'inet'), 0);
  assert.is(
    sockaddrMaskPrefix(
      'netbsd',
      Uint8Array.from([16, 24, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      'inet6',
    ),
    64,
  );
  assert.is(sockaddrMaskPrefix('netbsd', null, 'inet6'), 128);
});

test('KAME embedded scope in a link-local address is moved to scopeId', () => {
  const raw = encodeSockaddrIn6('netbsd', parseIPv6('fe80:2::1')!, 0);
  assert.equal(decodeSockaddr('netbsd', raw), {
    family: 'inet6',
    address: 'fe80::1',
    bytes: parseIPv6('fe80::1'),
    scopeId: 2,
  });
});

test('if_data link state and MTU at each OS offset (facts 3.1-3.3)', () => {
  const nb = Buffer.from(
    golden(16, [
      [0, '06 06 0e'],
      [4, '02000000'],
      [8, 'dc05000000000000'],
    ]),
    'hex',
  );
  assert.equal(decodeIfData('netbsd', nb), { linkState: 2, mtu: 1500 });
  const fb = Buffer.from(
    golden(16, [
      [0, '06 00 06 0e'],
      [4, '01'],
      [8, 'dc050000'],
    ]),
    'hex',
  );
  assert.equal(decodeIfData('freebsd', fb), { linkState: 1, mtu: 1500 });
  const ob = Buffer.from(
    golden(16, [
      [0, '06 06 0e'],
      [3, '04'],
      [4, 'dc050000'],
    ]),
    'hex',
  );
  assert.equal(decodeIfData('openbsd', ob), { linkState: 4, mtu: 1500 });
  assert.is(decodeIfData('netbsd', new Uint8Array(8)), null);
});

test('IPv6 text is RFC 5952: longest zero run compressed, single zero group kept', () => {
  const cases: [string, string][] = [
    ['2001:db8::1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:DB8::A', '2001:db8::a'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ];
  for (const [inp, out] of cases) assert.is(formatIPv6(parseIPv6(inp)!), out, inp);
  assert.is(parseIPv6('2001:db8::1::2'), null);
  assert.is(parseCidr('192.0.2.1/33'), null);
  assert.is(parseCidr('2001:db8::/64')!.text, '2001:db8::/64');
});

test('parseCidr here refuses blanks around the text (the Linux driver trims them); zones never', () => {
  assert.is(parseCidr(' 192.0.2.1/24'), null);
  assert.is(parseCidr('192.0.2.1/24 '), null);
  assert.is(parseCidr('fe80::1%wm0/64'), null);
  assert.is(parseCidr('::ffff:192.0.2.1/128')!.text, '::ffff:c000:201/128');
});

test.run();
