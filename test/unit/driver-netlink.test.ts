// rtnetlink encoders and decoders against hand-laid byte vectors (shared facts section 4).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCidr } from '../../drivers/linux/addr.ts';
import {
  decodeAddr,
  decodeError,
  decodeLink,
  encodeAddr,
  encodeDelLink,
  encodeGetAddrDump,
  encodeGetLink,
  encodeNewMacvlan,
  FLAGS_ADD,
  FLAGS_DEL,
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  NLMSG_HDRLEN,
  parseAttrs,
  rtattr,
  splitMessages,
} from '../../drivers/linux/netlink.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

test('header sizes are pinned: nlmsghdr 16, ifinfomsg 16, ifaddrmsg 8; add 0x605, delete 0x005', () => {
  assert.is(NLMSG_HDRLEN, 16);
  assert.is(IFINFOMSG_LEN, 16);
  assert.is(IFADDRMSG_LEN, 8);
  assert.is(FLAGS_ADD, 0x605);
  assert.is(FLAGS_DEL, 0x005);
});

test('rtattr: rta_len counts the unpadded payload, the attribute is padded to 4', () => {
  assert.is(hex(rtattr(3, bytes('6d763000'))), '08000300' + '6d763000');
  assert.is(hex(rtattr(1, bytes('00005e000133'))), '0a000100' + '00005e000133' + '0000');
});

const MACVLAN =
  '58000000' +
  '1000' +
  '0506' +
  '01000000' +
  '00000000' + // nlmsghdr: len 88, RTM_NEWLINK, 0x605, seq 1, pid 0
  '00' +
  '00' +
  '0000' +
  '00000000' +
  '00000000' +
  '00000000' + // ifinfomsg: family 0, type 0, index 0, flags, change
  '0800' +
  '0300' +
  '6d763000' + // IFLA_IFNAME "mv0\0"
  '0800' +
  '0500' +
  '02000000' + // IFLA_LINK parent ifindex 2
  '0a00' +
  '0100' +
  '00005e000133' +
  '0000' + // IFLA_ADDRESS 00:00:5e:00:01:33 + pad
  '1c00' +
  '1200' + // IFLA_LINKINFO (28)
  '0c00' +
  '0100' +
  '6d6163766c616e00' + //   IFLA_INFO_KIND "macvlan\0"
  '0c00' +
  '0200' + //   IFLA_INFO_DATA (12)
  '0800' +
  '0100' +
  '04000000'; //     IFLA_MACVLAN_MODE = BRIDGE (4)

test('RTM_NEWLINK for a bridge-mode macvlan matches the facts attribute tree (fixed vector)', () => {
  const got = encodeNewMacvlan(1, 'mv0', 2, bytes('00005e000133'));
  assert.is(hex(got), MACVLAN);
});

test('the macvlan request decodes back to the same name, MAC and kind (mirror)', () => {
  const split = splitMessages(bytes(MACVLAN));
  assert.ok(split.ok);
  assert.is(split.messages.length, 1);
  const l = decodeLink(split.messages[0])!;
  assert.is(l.ifname, 'mv0');
  assert.is(l.mac, '00:00:5e:00:01:33');
  assert.is(l.kind, 'macvlan');
});

test('RTM_NEWADDR IPv4 carries IFA_LOCAL and IFA_ADDRESS (fixed vector)', () => {
  const want =
    '28000000' +
    '1400' +
    '0506' +
    '07000000' +
    '00000000' + // len 40, RTM_NEWADDR, 0x605, seq 7
    '02' +
    '18' +
    '00' +
    '00' +
    '03000000' + // AF_INET, /24, flags 0, scope universe, index 3
    '0800' +
    '0200' +
    'c000020a' + // IFA_LOCAL 192.0.2.10
    '0800' +
    '0100' +
    'c000020a'; // IFA_ADDRESS 192.0.2.10
  assert.is(hex(encodeAddr(7, true, 3, parseCidr('192.0.2.10/24')!)), want);
});

test('RTM_NEWADDR IPv6 sets IFA_F_NODAD in ifa_flags and IFA_FLAGS (fixed vector)', () => {
  const want =
    '34000000' +
    '1400' +
    '0506' +
    '08000000' +
    '00000000' + // len 52, RTM_NEWADDR, 0x605, seq 8
    '0a' +
    '40' +
    '02' +
    '00' +
    '03000000' + // AF_INET6, /64, IFA_F_NODAD, scope 0, index 3
    '1400' +
    '0100' +
    '20010db8000000000000000000000010' + // IFA_ADDRESS 2001:db8::10
    '0800' +
    '0800' +
    '02000000'; // IFA_FLAGS = IFA_F_NODAD (u32)
  assert.is(hex(encodeAddr(8, true, 3, parseCidr('2001:db8::10/64')!)), want);
});

test('RTM_DELADDR IPv6 is a plain REQUEST|ACK without flags (fixed vector)', () => {
  const want =
    '2c000000' +
    '1500' +
    '0500' +
    '09000000' +
    '00000000' +
    '0a' +
    '40' +
    '00' +
    '00' +
    '03000000' +
    '1400' +
    '0100' +
    '20010db8000000000000000000000010';
  assert.is(hex(encodeAddr(9, false, 3, parseCidr('2001:db8::10/64')!)), want);
});

test('GETLINK by name, DELLINK by name and the GETADDR dump (fixed vectors)', () => {
  assert.is(
    hex(encodeGetLink(2, 'eth0')),
    '2c000000' +
      '1200' +
      '0100' +
      '02000000' +
      '00000000' +
      '00'.repeat(16) +
      '0900' +
      '0300' +
      '6574683000' +
      '000000',
  );
  assert.is(hex(encodeDelLink(3, 'mv0')), `28000000110005000300000000000000${'00'.repeat(16)}080003006d763000`);
  assert.is(hex(encodeGetAddrDump(4)), '18000000' + '1600' + '0103' + '04000000' + '00000000' + '0000000000000000');
});

const NEWLINK =
  '48000000' +
  '1000' +
  '0000' +
  '00000000' +
  'd2040000' + // len 72, RTM_NEWLINK, flags 0, seq 0, pid 1234
  '00' +
  '00' +
  '0100' +
  '02000000' +
  '43100100' +
  '00000000' + // family, ARPHRD_ETHER, index 2, flags UP|BCAST|RUNNING|MCAST|LOWER_UP
  '0900' +
  '0300' +
  '6574683000' +
  '000000' + // IFLA_IFNAME "eth0\0" + pad
  '0800' +
  '0400' +
  'dc050000' + // IFLA_MTU 1500
  '0a00' +
  '0100' +
  '02fc00000001' +
  '0000' + // IFLA_ADDRESS
  '0500' +
  '1000' +
  '06' +
  '000000'; // IFLA_OPERSTATE IF_OPER_UP

test('an RTM_NEWLINK event decodes index, flags, name, MTU, MAC and operstate', () => {
  const m = splitMessages(bytes(NEWLINK));
  assert.ok(m.ok);
  const l = decodeLink(m.messages[0])!;
  assert.equal(
    { index: l.index, flags: l.flags, ifname: l.ifname, mtu: l.mtu, mac: l.mac, operstate: l.operstate },
    { index: 2, flags: 0x11043, ifname: 'eth0', mtu: 1500, mac: '02:fc:00:00:00:01', operstate: 6 },
  );
});

test('an RTM_NEWADDR IPv6 event reports IFA_FLAGS over ifa_flags and formats per RFC 5952', () => {
  const msg = bytes(
    '38000000' +
      '1400' +
      '0000' +
      '00000000' +
      '00000000' +
      '0a' +
      '40' +
      '00' +
      '00' +
      '05000000' +
      '1400' +
      '0100' +
      '20010db8000000000000000000000010' +
      '0800' +
      '0800' +
      'c0000000' + // IFA_FLAGS TENTATIVE|PERMANENT
      '0800' +
      '0600' +
      '00000000',
  ); // an attribute we ignore
  const a = decodeAddr(splitMessages(msg).messages[0])!;
  assert.equal(
    { ...a, label: undefined },
    { family: 10, prefixLength: 64, flags: 0xc0, scope: 0, index: 5, address: '2001:db8::10', label: undefined },
  );
});

test('an NLMSG_ERROR with an extended ACK yields errno and the kernel text', () => {
  const msg = bytes(
    '34000000' +
      '0200' +
      '0003' +
      '01000000' +
      '00000000' + // NLMSG_ERROR, flags CAPPED|ACK_TLVS
      'efffffff' + // error = -17 (EEXIST)
      '58000000' +
      '1000' +
      '0506' +
      '01000000' +
      '00000000' + // the request's header only (capped)
      '1000' +
      '0100' +
      '496e76616c6964204d414300',
  ); // NLMSGERR_ATTR_MSG "Invalid MAC\0"
  const e = decodeError(splitMessages(msg).messages[0])!;
  assert.equal(e, { errno: 17, message: 'Invalid MAC' });
});

test('a plain ACK is errno 0 with no text', () => {
  const msg = bytes(
    '24000000' + '0200' + '0001' + '05000000' + '00000000' + '00000000' + '28000000140005060500000000000000',
  );
  assert.equal(decodeError(splitMessages(msg).messages[0]), { errno: 0, message: '' });
});

test('bad lengths are reported, never read past the end, never thrown', () => {
  const table: Array<[string, string]> = [
    ['length beyond the datagram', '44000000' + '1000' + '0000' + '00000000' + '00000000'],
    ['length below the header', '08000000' + '1000' + '0000' + '00000000' + '00000000'],
    ['a trailing fragment', `${NEWLINK}ffff`],
  ];
  for (const [why, h] of table) {
    const r = splitMessages(bytes(h));
    assert.not.ok(r.ok, why);
  }
  // An attribute claiming more than is there stops the walk and keeps what came before.
  const attrs = parseAttrs(bytes('08000300' + '6d763000' + 'ff000100' + '00'), 0);
  assert.equal([...attrs.keys()], [3]);
  // Too-short payloads decode to null.
  const short = { type: 16, flags: 0, seq: 0, pid: 0, payload: new Uint8Array(4) };
  assert.is(decodeLink(short), null);
  assert.is(decodeAddr({ ...short, type: 20 }), null);
  assert.is(decodeError({ ...short, type: 2, payload: new Uint8Array(2) }), null);
});

test.run();
