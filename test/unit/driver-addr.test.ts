// Address text for the drivers: MACs, CIDRs, RFC 5952 output, group MACs (RFC 1112 6.4, RFC 2464 7).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatIPv4,
  formatIPv6,
  formatMac,
  multicastMac,
  parseCidr,
  parseIPv6,
  parseMac,
} from '../../drivers/linux/addr.ts';
import { linuxErrnoName, linuxError } from '../../drivers/linux/errno.ts';

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null);

test('MACs parse with colons or dashes in any case; bad ones are null', () => {
  assert.is(hex(parseMac('00:00:5E:00:01:33')), '00005e000133');
  assert.is(hex(parseMac('00-00-5e-00-02-07')), '00005e000207');
  for (const bad of ['', '00:00:5e:00:01', '00:00:5e:00:01:33:44', 'zz:00:5e:00:01:33', '000:0:5e:0:1:33'])
    assert.is(parseMac(bad), null, bad);
});

test('CIDRs normalise and default to a host prefix; bad ones are null', () => {
  assert.is(parseCidr('192.0.2.1/24')!.text, '192.0.2.1/24');
  assert.is(parseCidr('192.0.2.1')!.text, '192.0.2.1/32');
  assert.is(parseCidr('2001:DB8:0:0::1/64')!.text, '2001:db8::1/64');
  assert.is(parseCidr('2001:db8::1')!.prefixLength, 128);
  for (const bad of ['192.0.2.1/33', '2001:db8::1/129', '192.0.2/24', 'x/1', '192.0.2.1/24/1', '192.0.2.1/-1'])
    assert.is(parseCidr(bad), null, bad);
});

test('IPv6 text follows RFC 5952 4.2: longest zero run, first on a tie, never a single group', () => {
  const cases: Array<[string, string]> = [
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['fe80:0:0:0:d094:1fff:fea8:733e', 'fe80::d094:1fff:fea8:733e'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ];
  for (const [input, want] of cases) assert.is(formatIPv6(parseIPv6(input)!), want, input);
});

test('group MACs: 224.0.0.18 -> 01:00:5e:00:00:12, ff02::12 -> 33:33:00:00:00:12', () => {
  assert.is(hex(multicastMac('224.0.0.18')), '01005e000012');
  assert.is(hex(multicastMac('239.255.1.2')), '01005e7f0102'); // high bit of the 2nd byte dropped
  assert.is(hex(multicastMac('ff02::12')), '333300000012');
  assert.is(hex(multicastMac('01:00:5e:00:00:12')), '01005e000012');
  assert.is(multicastMac('192.0.2.1'), null);
  assert.is(multicastMac('2001:db8::1'), null);
  assert.is(multicastMac('00:00:5e:00:01:01'), null); // unicast MAC
});

test('Linux errnos read as words, with the shared hint', () => {
  assert.is(linuxErrnoName(16), 'EBUSY');
  assert.is(linuxErrnoName(99), 'EADDRNOTAVAIL');
  assert.is(linuxErrnoName(4242), 'E#4242');
  const e = linuxError('set-mac', 'eth0', 1);
  assert.is(e.message, 'set-mac eth0: EPERM (not root / missing CAP_NET_ADMIN)');
  assert.is(e.errno, 1);
  assert.is(
    linuxError('create-macvlan', 'mv0', 22, 'Invalid MAC').hint,
    'the kernel rejected an argument; Invalid MAC',
  );
});

test('drivers take no zone ids and no one-digit MAC groups (the interface and the form are fixed by the caller)', () => {
  for (const bad of ['fe80::1%eth0', 'fe80::1%eth0.5', '2001:db8::%a:b', '::ffff:192.0.2.1%z']) {
    assert.is(parseIPv6(bad), null, bad);
    assert.is(parseCidr(`${bad}/64`), null, bad);
  }
  for (const bad of ['0:0:5e:0:1:33', '00:00-5e:00:01:33']) assert.is(parseMac(bad), null, bad);
  assert.is(hex(parseMac(' 00:00:5e:00:01:33\n')), '00005e000133'); // blanks around are fine
  assert.is(parseCidr(' 192.0.2.1/24 ')!.text, '192.0.2.1/24');
  assert.is(parseCidr('192.0.2.1/0024'), null);
});

test('formatters read the first 4 / 6 / 16 bytes of what they are given', () => {
  const b = Uint8Array.from({ length: 20 }, (_, i) => i);
  assert.is(formatIPv4(b), '0.1.2.3');
  assert.is(formatMac(b), '00:01:02:03:04:05');
  assert.is(formatMac(b.subarray(0, 4)), '00:01:02:03');
  assert.is(formatIPv6(b), '1:203:405:607:809:a0b:c0d:e0f');
  assert.throws(() => formatIPv4(b.subarray(0, 3)), RangeError);
  assert.throws(() => formatIPv6(b.subarray(0, 15)), RangeError);
});

test.run();
