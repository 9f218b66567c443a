// struct ifreq per Linux ABI (shared facts 3.4), byte for byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  abiOf,
  AF_UNSPEC,
  ARPHRD_ETHER,
  encodeIfreq,
  IFREQ_SIZE,
  ifreqFlags,
  ifreqHwaddr,
  ifreqInt,
  validIfname,
} from '../../drivers/linux/ifreq.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MAC = Uint8Array.of(0x00, 0x00, 0x5e, 0x00, 0x01, 0x33);

test('ifreq is 40 bytes on x86_64/aarch64 and 32 on i386/armhf', () => {
  assert.is(IFREQ_SIZE.lp64, 40);
  assert.is(IFREQ_SIZE.ilp32, 32);
  assert.is(abiOf('x64'), 'lp64');
  assert.is(abiOf('arm64'), 'lp64');
  assert.is(abiOf('ia32'), 'ilp32');
  assert.is(abiOf('arm'), 'ilp32');
});

test('SIOCSIFHWADDR request on LP64: name, sa_family ARPHRD_ETHER @16, MAC @18 (fixed vector)', () => {
  const want =
    '6574683000000000' +
    '0000000000000000' + // ifr_name "eth0", NUL-padded to 16
    '0100' + // sa_family = ARPHRD_ETHER (1), little-endian
    '00005e000133' + // sa_data[0..5] = the MAC
    '0000000000000000' + // rest of sa_data (8): sockaddr ends @32
    '0000000000000000'; // union padded to 24 (struct ifmap on LP64)
  const got = encodeIfreq('lp64', 'eth0', { kind: 'hwaddr', family: ARPHRD_ETHER, mac: MAC });
  assert.is(got.length, 40);
  assert.is(hex(got), want);
});

test('SIOCSIFHWADDR request on ILP32 is the same bytes cut to 32 (fixed vector)', () => {
  const want = '6574683000000000' + '0000000000000000' + '0100' + '00005e000133' + '0000000000000000';
  const got = encodeIfreq('ilp32', 'eth0', { kind: 'hwaddr', family: ARPHRD_ETHER, mac: MAC });
  assert.is(got.length, 32);
  assert.is(hex(got), want);
});

test('SIOCADDMULTI carries sa_family AF_UNSPEC and the group MAC', () => {
  const got = encodeIfreq('lp64', 'br0', {
    kind: 'hwaddr',
    family: AF_UNSPEC,
    mac: Uint8Array.of(1, 0, 0x5e, 0, 0, 0x12),
  });
  assert.is(hex(got.subarray(0, 24)), '6272300000000000000000000000000000000100' + '5e000012');
});

test('ifr_flags is a little-endian short at 16; ifr_ifindex an int at 16', () => {
  const f = encodeIfreq('ilp32', 'veth1', { kind: 'flags', flags: 0x1043 });
  assert.is(hex(f.subarray(16, 20)), '43100000');
  assert.is(ifreqFlags(f), 0x1043);
  const i = encodeIfreq('lp64', 'veth1', { kind: 'int', value: 258 });
  assert.is(hex(i.subarray(16, 20)), '02010000');
  assert.is(ifreqInt(i), 258);
});

test('a decoded SIOCGIFHWADDR answer mirrors the encoded request', () => {
  const req = encodeIfreq('lp64', 'eth0', { kind: 'hwaddr', family: ARPHRD_ETHER, mac: MAC });
  const back = ifreqHwaddr(req);
  assert.is(back.family, ARPHRD_ETHER);
  assert.is(hex(back.mac), '00005e000133');
});

test('names must fit IFNAMSIZ (15 bytes and the NUL) and be valid device names', () => {
  assert.ok(validIfname('eth0'));
  assert.ok(validIfname('a'.repeat(15)));
  assert.not.ok(validIfname('a'.repeat(16)));
  assert.not.ok(validIfname(''));
  assert.not.ok(validIfname('a/b'));
  assert.not.ok(validIfname('a b'));
  assert.throws(() => encodeIfreq('lp64', 'a'.repeat(16)), RangeError);
});

test.run();
