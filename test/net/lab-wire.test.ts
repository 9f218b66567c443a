// The wire checker: tshark 4.0 decodes keepalived's adverts (v3 and v2 over IPv4, v3 over IPv6)
// and the checker passes them; frames sent wrong on purpose (TTL 64, bad checksum) are flagged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  withLab,
  startKeepalived,
  startVrrpCapture,
  captureVrrp,
  checkVrrpCapture,
  parseTsharkLine,
  buildVrrpv3Ipv4,
  internetChecksum,
  sendRawVrrpIpv4,
  waitFor,
  sleep,
} from '../kit/lab.ts';
import type { VrrpRow } from '../kit/lab.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const row = (...f: string[]) => f.join('\t');

// Lines as tshark prints them for TSHARK_VRRP_FIELDS (captured from keepalived 2.2.7, then edited).
const V3_IPV4_GOOD = row(
  '1795635835.309356328',
  '192.0.2.11',
  '',
  '3',
  '1',
  '5',
  '200',
  '',
  '20',
  '0xa248',
  '1',
  '255',
  '',
  '192.0.2.1',
  '',
  '',
  '',
);
const V3_IPV6_GOOD = row(
  '1795635835.363234219',
  '',
  'fe80::a8d1:50ff:fe70:c48a',
  '3',
  '1',
  '6',
  '200',
  '',
  '20',
  '0x1e3f',
  '1',
  '',
  '255',
  '',
  '2001:db8::1',
  '',
  '',
);
const V2_GOOD = row(
  '1795635836.0',
  '192.0.2.12',
  '',
  '2',
  '1',
  '7',
  '100',
  '1',
  '',
  '0x1234',
  '1',
  '255',
  '',
  '192.0.2.1|192.0.2.2',
  '',
  '',
  '',
);
const TTL_64 = row(
  '1795635837.0',
  '192.0.2.12',
  '',
  '3',
  '1',
  '99',
  '100',
  '',
  '100',
  '0x5555',
  '1',
  '64',
  '',
  '192.0.2.99',
  '',
  '',
  '',
);
const BAD_SUM = row(
  '1795635838.0',
  '192.0.2.12',
  '',
  '3',
  '1',
  '99',
  '100',
  '',
  '100',
  '0x0f0f',
  '0',
  '255',
  '',
  '192.0.2.99',
  '',
  '',
  'Bad checksum [should be 0x5a5a]',
);
const MALFORMED = row(
  '1795635839.0',
  '192.0.2.12',
  '',
  '3',
  '1',
  '99',
  '100',
  '',
  '100',
  '',
  '2',
  '255',
  '',
  '',
  '',
  'Malformed Packet',
  'Malformed Packet (Exception occurred)',
);

test('parseTsharkLine decodes v3 IPv4, v3 IPv6 and v2 rows (fixed lines)', () => {
  const a = parseTsharkLine(V3_IPV4_GOOD)!;
  assert.equal(
    [
      a.family,
      a.src,
      a.version,
      a.type,
      a.vrid,
      a.priority,
      a.adverIntervalMs,
      a.checksum,
      a.checksumStatus,
      a.ttl,
      a.addresses,
    ],
    ['ipv4', '192.0.2.11', 3, 1, 5, 200, 200, '0xa248', 'good', 255, ['192.0.2.1']],
  );
  assert.ok(Math.abs(a.timeMs - 1795635835309.356) < 0.01);
  const b = parseTsharkLine(V3_IPV6_GOOD)!;
  assert.equal([b.family, b.src, b.ttl, b.addresses], ['ipv6', 'fe80::a8d1:50ff:fe70:c48a', 255, ['2001:db8::1']]);
  const c = parseTsharkLine(V2_GOOD)!;
  // v2 Adver Int is seconds (RFC 3768 5.3.7); v3 Max Adver Int centiseconds (RFC 5798 5.2.7).
  assert.equal([c.version, c.adverIntervalMs, c.addresses], [2, 1000, ['192.0.2.1', '192.0.2.2']]);
  assert.is(parseTsharkLine('not\ta\tvrrp\tline'), null);
  assert.is(parseTsharkLine(''), null);
});

test('checkVrrpCapture passes good rows and names each fault (fixed lines)', () => {
  const good = checkVrrpCapture([V3_IPV4_GOOD, V3_IPV6_GOOD, V2_GOOD].map(parseTsharkLine));
  assert.ok(good.ok);
  assert.is(good.packets, 3);
  assert.equal(good.problems, []);
  const bad = checkVrrpCapture([V3_IPV4_GOOD, TTL_64, BAD_SUM, MALFORMED, 'junk'].map(parseTsharkLine));
  assert.not.ok(bad.ok);
  assert.equal(
    bad.problems.map((p) => [p.index, p.reason]),
    [
      [1, 'bad-ttl'],
      [2, 'bad-checksum'],
      [3, 'malformed'],
      [4, 'unparsed'],
    ],
  );
  assert.equal(bad.counts, { malformed: 1, 'bad-checksum': 1, 'bad-ttl': 1, 'bad-type': 0, unparsed: 1 });
  assert.match(bad.problems[0].detail, /TTL 64/);
  const t2 = parseTsharkLine(V3_IPV4_GOOD)!;
  const wrongType: VrrpRow = { ...t2, type: 2 };
  assert.equal(
    checkVrrpCapture([wrongType]).problems.map((p) => p.reason),
    ['bad-type'],
  );
});

test('buildVrrpv3Ipv4 matches keepalived byte for byte (vector captured from keepalived 2.2.7)', () => {
  // 192.0.2.11 -> 224.0.0.18, VRID 5, priority 200, 20 cs, VIP 192.0.2.1: keepalived sent 0xa248.
  const p = buildVrrpv3Ipv4({ src: '192.0.2.11', vrid: 5, priority: 200, adverIntCs: 20, addresses: ['192.0.2.1'] });
  assert.is(hex(p), '3105c8010014a248c0000201');
  const bad = buildVrrpv3Ipv4({
    src: '192.0.2.11',
    vrid: 5,
    priority: 200,
    adverIntCs: 20,
    addresses: ['192.0.2.1'],
    corruptChecksum: true,
  });
  assert.is.not(hex(bad), hex(p));
  // RFC 1071 on a well-known IPv4 header (checksum field zeroed): 0xb861; with it filled in, 0.
  const ip = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex');
  assert.is(internetChecksum(ip), 0xb861);
  ip.writeUInt16BE(0xb861, 10);
  assert.is(internetChecksum(ip), 0);
  // An odd trailing byte is padded with a zero byte on the right.
  assert.is(internetChecksum(new Uint8Array([0x01])), 0xfeff);
});

test('keepalived v3 IPv4, v2 IPv4 and v3 IPv6 adverts pass the checker; injected wrong frames are flagged', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const [r1, r2] = lab.routers;
    const base = { ifname: 'eth0', priority: 150 } as const;
    const peers = [
      await startKeepalived(lab, r1.ns, {
        ...base,
        vrid: 5,
        version: 3,
        advertIntervalMs: 100,
        addresses: ['192.0.2.1'],
      }),
      await startKeepalived(lab, r1.ns, {
        ...base,
        vrid: 6,
        version: 2,
        advertIntervalMs: 1000,
        addresses: ['192.0.2.2'],
      }),
      await startKeepalived(lab, r2.ns, {
        ...base,
        vrid: 7,
        version: 3,
        advertIntervalMs: 200,
        addresses: ['2001:db8::1'],
        family: 'ipv6',
      }),
    ];
    assert.ok(
      await waitFor(
        async () => (await Promise.all(peers.map((p) => p.state()))).every((s) => s === 'MASTER'),
        10_000,
        100,
      ),
      'not all three instances became MASTER',
    );
    const cap = startVrrpCapture(lab, lab.clients[0].ns, 'eth0');
    await cap.ready;
    await sleep(2500);
    // One TTL-64 frame with a right checksum, one TTL-255 frame with a wrong one (VRID 99: nobody's).
    const ok = buildVrrpv3Ipv4({ src: r2.ipv4, vrid: 99, priority: 100, adverIntCs: 100, addresses: ['192.0.2.99'] });
    const corrupt = buildVrrpv3Ipv4({
      src: r2.ipv4,
      vrid: 99,
      priority: 100,
      adverIntCs: 100,
      addresses: ['192.0.2.99'],
      corruptChecksum: true,
    });
    await sendRawVrrpIpv4(lab, r2.ns, r2.ipv4, 64, [ok]);
    await sendRawVrrpIpv4(lab, r2.ns, r2.ipv4, 255, [corrupt]);
    await sleep(500);
    const rows = await cap.stop();

    const keepalived = rows.filter((r) => r !== null && r.vrid !== 99);
    const check = checkVrrpCapture(keepalived);
    console.log(
      `  captured ${rows.length} VRRP frames; keepalived's: ${check.packets}, problems: ${check.problems.length}`,
    );
    assert.ok(check.ok, JSON.stringify(check.problems.slice(0, 5)));
    const by = (vrid: number) => keepalived.filter((r) => r!.vrid === vrid) as VrrpRow[];
    // ~3 s at 100 ms / 1 s / 200 ms; generous bounds for a busy machine.
    assert.ok(by(5).length >= 15, `v3 IPv4: ${by(5).length}`);
    assert.ok(by(6).length >= 2, `v2: ${by(6).length}`);
    assert.ok(by(7).length >= 8, `v3 IPv6: ${by(7).length}`);
    assert.equal(
      [...new Set(by(5).map((r) => `${r.version}/${r.family}/${r.adverIntervalMs}/${r.src}`))],
      [`3/ipv4/100/${r1.ipv4}`],
    );
    assert.equal([...new Set(by(6).map((r) => `${r.version}/${r.family}/${r.adverIntervalMs}`))], ['2/ipv4/1000']);
    assert.equal([...new Set(by(7).map((r) => `${r.version}/${r.family}/${r.adverIntervalMs}`))], ['3/ipv6/200']);
    // RFC 5798 5.1.2.2: the IPv6 source is the link-local address.
    assert.ok(by(7).every((r) => r.src.startsWith('fe80:')));

    const injected = checkVrrpCapture(rows.filter((r) => r?.vrid === 99));
    assert.is(injected.packets, 2);
    assert.equal(
      injected.problems.map((p) => p.reason),
      ['bad-ttl', 'bad-checksum'],
    );
    for (const p of peers) await p.stop();
  });
});

test('captureVrrp returns nothing on a quiet link', async () => {
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const rows = await captureVrrp(lab, lab.routers[0].ns, 'eth0', 500);
    assert.equal(rows, []);
  });
});

test.run();
