// Routing-socket messages, hand-built at the offsets of shared/facts/ioctl.md sections 3 and 5
// (NetBSD if_msghdr 152 with link state int @20; FreeBSD u8 @20; OpenBSD u8 @27), parsed by
// drivers/bsd/rtsock.ts. One vector per line group, annotated per field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRtMessage, parseRtMessages, readRtAddrs } from '../../drivers/bsd/rtsock.ts';

function golden(size: number, fields: [number, string][]): Uint8Array {
  const b = new Uint8Array(size);
  for (const [off, h] of fields) b.set(Buffer.from(h.replace(/\s/g, ''), 'hex'), off);
  return b;
}
const hexName = (s: string) => Buffer.from(s).toString('hex');

const NETBSD_IFINFO = golden(152, [
  [0, '9800'], // ifm_msglen 152
  [2, '04'], // RTM_VERSION 4
  [3, '14'], // RTM_IFINFO
  [4, '00000000'], // ifm_addrs: none
  [8, '43880000'], // ifm_flags UP|BROADCAST|RUNNING|SIMPLEX|MULTICAST
  [12, '0200'], // ifm_index 2
  [20, '01000000'], // ifm_data.ifi_link_state = LINK_STATE_DOWN (int)
]);

test('NetBSD RTM_IFINFO: index @12, flags @8, link state int @20 (facts 5)', () => {
  const r = parseRtMessage('netbsd', 'lp64', NETBSD_IFINFO);
  assert.equal(r, {
    ok: true,
    length: 152,
    msg: { kind: 'ifinfo', index: 2, flags: 0x8843, linkState: 1, ifname: null },
  });
});

test('FreeBSD RTM_IFINFO: version 5, link state u8 @20 (facts 3.2)', () => {
  const m = golden(168, [
    [0, 'a800'],
    [2, '05'],
    [3, '0e'],
    [4, '00000000'],
    [8, '01000000'],
    [12, '0300'],
    [20, '02'],
  ]);
  assert.equal(parseRtMessage('freebsd', 'lp64', m), {
    ok: true,
    length: 168,
    msg: { kind: 'ifinfo', index: 3, flags: 1, linkState: 2, ifname: null },
  });
});

test('OpenBSD RTM_IFINFO: hdrlen @4, index @6, flags @16, link state u8 @27 (facts 3.3), name from RTA_IFP', () => {
  const m = golden(168 + 32, [
    [0, 'c800'],
    [2, '05'],
    [3, '0e'],
    [4, 'a800'], // ifm_hdrlen 168: sockaddrs follow
    [6, '0400'], // ifm_index 4
    [12, '10000000'], // ifm_addrs RTA_IFP
    [16, '03000000'], // ifm_flags UP|BROADCAST
    [27, '06'], // ifi_link_state LINK_STATE_FULL_DUPLEX
    [168, `20 12 0400 06 03 06 00${hexName('em1')}00005e00012a`], // sockaddr_dl em1
  ]);
  assert.equal(parseRtMessage('openbsd', 'lp64', m), {
    ok: true,
    length: 200,
    msg: { kind: 'ifinfo', index: 4, flags: 3, linkState: 6, ifname: 'em1' },
  });
});

test('NetBSD RTM_NEWADDR: ifa_msghdr 32, then netmask (trimmed), ifp, ifa, each padded to 8', () => {
  const m = golden(88, [
    [0, '5800'],
    [2, '04'],
    [3, '16'],
    [4, '0200'], // ifam_index 2
    [8, '00000000'], // ifam_flags
    [12, '34000000'], // ifam_addrs NETMASK|IFP|IFA
    [32, '07 02 0000 ffffff'], // netmask /24, sa_len 7 -> 8
    [40, `20 12 0200 06 03 06 00${hexName('wm0')}00005e00012a`], // sockaddr_dl wm0, 32
    [72, '10 02 0000 c000020a'], // sockaddr_in 192.0.2.10
  ]);
  const r = parseRtMessage('netbsd', 'lp64', m);
  assert.ok(r.ok);
  if (!r.ok || r.msg.kind !== 'newaddr') throw new Error('not newaddr');
  assert.is(r.msg.index, 2);
  assert.is(r.msg.ifname, 'wm0');
  assert.is(r.msg.address && r.msg.address.family === 'inet' ? r.msg.address.address : null, '192.0.2.10');
  assert.is(r.msg.prefixLength, 24);
});

test('NetBSD RTM_DELADDR of an IPv6 address with its /64 mask', () => {
  const m = golden(32 + 32 + 32, [
    [0, '6000'],
    [2, '04'],
    [3, '17'],
    [4, '0500'],
    [12, '24000000'], // NETMASK|IFA
    [32, '1c 18 0000 00000000 ffffffffffffffff'], // netmask, sa_len 28 -> 32
    [64, '1c 18 0000 00000000 20010db8000000000000000000000012'], // ifa 2001:db8::12
  ]);
  const r = parseRtMessage('netbsd', 'i386', m);
  if (!r.ok || r.msg.kind !== 'deladdr') throw new Error(JSON.stringify(r));
  assert.is(r.msg.address && r.msg.address.family === 'inet6' ? r.msg.address.address : null, '2001:db8::12');
  assert.is(r.msg.prefixLength, 64);
  assert.is(r.msg.ifname, null);
});

test('OpenBSD RTM_NEWADDR starts its sockaddrs at ifam_hdrlen', () => {
  const m = golden(24 + 8 + 16, [
    [0, '3000'],
    [2, '05'],
    [3, '0c'],
    [4, '1800'],
    [6, '0100'],
    [12, '24000000'],
    [24, '05 02 0000 ff'], // netmask /8, sa_len 5 -> 8
    [32, '10 02 0000 c6336401'], // 198.51.100.1
  ]);
  const r = parseRtMessage('openbsd', 'lp64', m);
  if (!r.ok || r.msg.kind !== 'newaddr') throw new Error(JSON.stringify(r));
  assert.is(r.msg.prefixLength, 8);
  assert.is(r.msg.address && r.msg.address.family === 'inet' ? r.msg.address.address : null, '198.51.100.1');
});

test('sockaddr padding is sizeof(long) on FreeBSD/OpenBSD: a zero sa_len takes 4 bytes on i386, 8 on LP64', () => {
  const sin = '10 02 0000 c0000201';
  const i386 = golden(4 + 16, [[4, sin]]);
  const lp64 = golden(8 + 16, [[8, sin]]);
  assert.is(
    Buffer.from(readRtAddrs(i386, 0, i386.length, 0x24, 4).ifa!)
      .toString('hex')
      .slice(0, 16),
    '10020000c0000201',
  );
  assert.is(
    Buffer.from(readRtAddrs(lp64, 0, lp64.length, 0x24, 8).ifa!)
      .toString('hex')
      .slice(0, 16),
    '10020000c0000201',
  );
});

test('RTM_IFANNOUNCE departure: name @6, what @22 (NetBSD)', () => {
  const m = golden(24, [
    [0, '1800'],
    [2, '04'],
    [3, '10'],
    [4, '0700'],
    [6, hexName('wm1')],
    [22, '0100'],
  ]);
  assert.equal(parseRtMessage('netbsd', 'lp64', m), {
    ok: true,
    length: 24,
    msg: { kind: 'ifannounce', index: 7, ifname: 'wm1', what: 'departure' },
  });
});

test('messages of other types are reported as other, not errors', () => {
  const m = golden(120, [
    [0, '7800'],
    [2, '04'],
    [3, '01'],
  ]); // RTM_ADD
  assert.equal(parseRtMessage('netbsd', 'lp64', m), { ok: true, length: 120, msg: { kind: 'other', type: 1 } });
});

test('a buffer with two messages yields both', () => {
  const two = new Uint8Array(304);
  two.set(NETBSD_IFINFO, 0);
  two.set(NETBSD_IFINFO, 152);
  assert.is(parseRtMessages('netbsd', 'lp64', two).messages.length, 2);
});

// [reason, os, hex]: each is refused with that reason and nothing throws.
const BAD: [string, 'netbsd' | 'freebsd' | 'openbsd', string][] = [
  ['short', 'netbsd', '9800 04'],
  ['bad-length', 'netbsd', '9800 04 14 00000000'], // msglen 152, 8 bytes present
  ['bad-length', 'netbsd', '0200 04 14'], // msglen below the common header
  [
    'version',
    'netbsd',
    Buffer.from(
      golden(152, [
        [0, '9800'],
        [2, '05'],
        [3, '14'],
      ]),
    ).toString('hex'),
  ],
  ['version', 'openbsd', Buffer.from(NETBSD_IFINFO).toString('hex')],
  ['short', 'netbsd', '1000 04 16 000000000000000000000000'], // ifa_msghdr shorter than 32
  ['short', 'netbsd', '0800 04 10 00000000'], // if_announcemsghdr shorter than 24
];
for (const [reason, os, h] of BAD) {
  test(`bad vector refused as ${reason} (${os}: ${h.slice(0, 24)}...)`, () => {
    let r: ReturnType<typeof parseRtMessage> | undefined;
    try {
      r = parseRtMessage(os, 'lp64', Buffer.from(h.replace(/\s/g, ''), 'hex'));
    } catch (e) {
      assert.unreachable(`threw ${e}`);
    }
    assert.is(r!.ok, false);
    if (!r!.ok) assert.is(r!.reason, reason);
  });
}

test.run();
