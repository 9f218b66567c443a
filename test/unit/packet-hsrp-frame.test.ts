// HSRP frames: Ethernet / IP / UDP around v1 and v2 payloads, decoded back by decodeFrame (the
// classifier every captured frame goes through), and the UDP-level drops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFrame, encodeHsrpFrame, encodeHsrpV1, encodeHsrpV2 } from '../../firmware/core/packet/index.ts';
import type { HsrpV1Message, HsrpV2Message } from '../../firmware/core/packet/hsrp.ts';

const v1: HsrpV1Message = {
  op: 'hello',
  state: 'standby',
  hellotimeS: 1,
  holdtimeS: 3,
  priority: 90,
  group: 17,
  auth: 'cisco',
  virtualIp: '192.0.2.254',
};
const v2 = (family: 4 | 6): HsrpV2Message => ({
  op: 'coup',
  state: 'active',
  family,
  group: 4095,
  identifier: '02:00:00:00:00:02',
  priority: 200,
  hellotimeMs: 300,
  holdtimeMs: 900,
  virtualIp: family === 4 ? '192.0.2.254' : 'fe80::1',
  auth: 'secret',
});

test('v1: 224.0.0.2, UDP 1985 both ways, TTL 1; decodeFrame returns the same message', () => {
  const f = encodeHsrpFrame({
    srcMac: '02:00:00:00:00:01',
    family: 4,
    version: 1,
    src: '192.0.2.1',
    payload: encodeHsrpV1(v1),
  });
  assert.equal([...f.subarray(0, 6)], [1, 0, 0x5e, 0, 0, 2]);
  assert.is(f[14 + 8], 1); // TTL
  assert.is(f[14 + 9], 17); // UDP
  assert.equal([...f.subarray(34, 38)], [0x07, 0xc1, 0x07, 0xc1]); // 1985 -> 1985
  const d = decodeFrame(f);
  assert.ok(d.ok && d.kind === 'hsrp');
  if (d.ok && d.kind === 'hsrp') {
    assert.is(d.version, 1);
    assert.is(d.src, '192.0.2.1');
    assert.is(d.dst, '224.0.0.2');
    assert.equal(d.message, v1);
  }
});

test('v2 over IPv4: 224.0.0.102 UDP 1985; over IPv6: ff02::66 UDP 2029, hop limit 255', () => {
  const f4 = encodeHsrpFrame({
    srcMac: '02:00:00:00:00:01',
    family: 4,
    version: 2,
    src: '192.0.2.1',
    payload: encodeHsrpV2(v2(4)),
  });
  const d4 = decodeFrame(f4);
  assert.ok(d4.ok && d4.kind === 'hsrp' && d4.dst === '224.0.0.102' && d4.version === 2);
  if (d4.ok && d4.kind === 'hsrp') assert.equal(d4.message, v2(4));
  const f6 = encodeHsrpFrame({
    srcMac: '02:00:00:00:00:01',
    family: 6,
    version: 2,
    src: 'fe80::2',
    payload: encodeHsrpV2(v2(6)),
  });
  assert.equal([...f6.subarray(0, 6)], [0x33, 0x33, 0, 0, 0, 0x66]);
  assert.is(f6[14 + 7], 255);
  const d6 = decodeFrame(f6);
  assert.ok(d6.ok && d6.kind === 'hsrp' && d6.dst === 'ff02::66');
  if (d6.ok && d6.kind === 'hsrp') assert.equal(d6.message, v2(6));
});

test('another port, a cut datagram: counted reasons, nothing thrown; the UDP checksum is not judged', () => {
  const f = encodeHsrpFrame({
    srcMac: '02:00:00:00:00:01',
    family: 4,
    version: 1,
    src: '192.0.2.1',
    payload: encodeHsrpV1(v1),
  });
  const port = new Uint8Array(f);
  port[37] = 0x35; // to UDP port 1845
  const r2 = decodeFrame(port);
  assert.ok(!r2.ok && r2.reason === 'not-vrrp');
  const cut = new Uint8Array(f);
  cut[38] = 0;
  cut[39] = 200; // UDP length beyond the datagram
  const r3 = decodeFrame(cut);
  assert.ok(!r3.ok && r3.reason === 'bad-length');
  // A captured copy from a sender with checksum offload carries only a partial sum (veth).
  const partial = new Uint8Array(f);
  partial[40] ^= 0x5a;
  assert.ok(decodeFrame(partial).ok);
});

test.run();
