// What tandem's HSRP codecs encode, judged by independent decoders: tshark's HSRP dissector (no
// malformed field, no expert warning, the same fields) for v1 and v2, and scapy's HSRP layer
// (Debian python3-scapy, the same fields) for v1 (scapy has no HSRPv2). Frames are Ethernet / IPv4 (TTL 1, to 224.0.0.2) / UDP 1985
// built here and written to a pcap file; no HSRP router can run here (docs/hsrp.md). What the running
// daemon sends is judged the same way in test/net/hsrp-speaker.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { internetChecksum, parseIp } from '../../firmware/core/packet/index.ts';
import {
  encodeHsrpV1,
  encodeHsrpV2,
  HSRP_PORT,
  HSRP_V1_GROUP,
  HSRP_V2_GROUP_V4,
  HSRP_V2_GROUP_V6,
  HSRP_V2_PORT_V6,
  HSRP_V2_STATE,
  hsrpV1VirtualMac,
  hsrpV2VirtualMac,
  type HsrpV1Message,
  type HsrpV2Message,
} from '../../firmware/core/packet/hsrp.ts';

/** Ethernet + IPv4 (TTL 1, RFC 2281 5.1) + UDP 1985 -> 1985 around an HSRP payload. */
function frame(m: HsrpV1Message, src: string): Uint8Array {
  const hsrp = encodeHsrpV1(m);
  const udpLen = 8 + hsrp.length,
    ipLen = 20 + udpLen;
  const f = new Uint8Array(14 + ipLen);
  f.set([0x01, 0x00, 0x5e, 0x00, 0x00, 0x02], 0); // 224.0.0.2
  f.set(
    hsrpV1VirtualMac(m.group)
      .split(':')
      .map((x) => parseInt(x, 16)),
    6,
  );
  f.set([0x08, 0x00], 12);
  const ip = f.subarray(14, 34);
  ip.set([0x45, 0xc0, ipLen >> 8, ipLen & 0xff, 0, 0, 0, 0, 1, 17]);
  ip.set(parseIp(src)!.bytes, 12);
  ip.set(parseIp(HSRP_V1_GROUP)!.bytes, 16);
  const sum = internetChecksum(ip);
  ip[10] = sum >> 8;
  ip[11] = sum & 0xff;
  const udp = f.subarray(34);
  udp.set([HSRP_PORT >> 8, HSRP_PORT & 0xff, HSRP_PORT >> 8, HSRP_PORT & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0]);
  udp.set(hsrp, 8);
  // UDP checksum with the IPv4 pseudo-header (RFC 768).
  const pseudo = new Uint8Array(12 + udpLen);
  pseudo.set(ip.subarray(12, 20), 0);
  pseudo.set([0, 17, udpLen >> 8, udpLen & 0xff], 8);
  pseudo.set(udp, 12);
  const u = internetChecksum(pseudo) || 0xffff;
  udp[6] = u >> 8;
  udp[7] = u & 0xff;
  return f;
}

/** HSRPv2: IPv4 UDP 1985 to 224.0.0.102, or IPv6 UDP 2029 to ff02::66, hop limit 255. */
function frameV2(m: HsrpV2Message, src: string): Uint8Array {
  const hsrp = encodeHsrpV2(m);
  const v6 = m.family === 6;
  const port = v6 ? HSRP_V2_PORT_V6 : HSRP_PORT;
  const udpLen = 8 + hsrp.length;
  const ipHdr = v6 ? 40 : 20;
  const f = new Uint8Array(14 + ipHdr + udpLen);
  f.set(v6 ? [0x33, 0x33, 0, 0, 0, 0x66] : [0x01, 0x00, 0x5e, 0x00, 0x00, 0x66], 0);
  f.set(
    hsrpV2VirtualMac(m.group, m.family)
      .split(':')
      .map((x) => parseInt(x, 16)),
    6,
  );
  f.set(v6 ? [0x86, 0xdd] : [0x08, 0x00], 12);
  const ip = f.subarray(14, 14 + ipHdr);
  const srcB = parseIp(src)!.bytes,
    dstB = parseIp(v6 ? HSRP_V2_GROUP_V6 : HSRP_V2_GROUP_V4)!.bytes;
  if (v6) {
    ip.set([0x60, 0, 0, 0, udpLen >> 8, udpLen & 0xff, 17, 255]);
    ip.set(srcB, 8);
    ip.set(dstB, 24);
  } else {
    const ipLen = 20 + udpLen;
    ip.set([0x45, 0xc0, ipLen >> 8, ipLen & 0xff, 0, 0, 0, 0, 1, 17]);
    ip.set(srcB, 12);
    ip.set(dstB, 16);
    const sum = internetChecksum(ip);
    ip[10] = sum >> 8;
    ip[11] = sum & 0xff;
  }
  const udp = f.subarray(14 + ipHdr);
  udp.set([port >> 8, port & 0xff, port >> 8, port & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0]);
  udp.set(hsrp, 8);
  const pseudo = new Uint8Array(2 * srcB.length + 4 + udpLen);
  pseudo.set(srcB, 0);
  pseudo.set(dstB, srcB.length);
  pseudo.set([0, 17, udpLen >> 8, udpLen & 0xff], 2 * srcB.length);
  pseudo.set(udp, 2 * srcB.length + 4);
  const u = internetChecksum(pseudo) || 0xffff;
  udp[6] = u >> 8;
  udp[7] = u & 0xff;
  return f;
}

function pcap(frames: Uint8Array[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const recs = frames.map((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_800_000_000 + i, 0);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    return Buffer.concat([h, Buffer.from(f)]);
  });
  return Buffer.concat([head, ...recs]);
}

const STATES = ['initial', 'learn', 'listen', 'speak', 'standby', 'active'] as const;
const STATE_NUM = { initial: 0, learn: 1, listen: 2, speak: 4, standby: 8, active: 16 };
const OP_NUM = { hello: 0, coup: 1, resign: 2 };
const messages: HsrpV1Message[] = [
  ...STATES.map(
    (state, i): HsrpV1Message => ({
      op: 'hello',
      state,
      hellotimeS: 3,
      holdtimeS: 10,
      priority: 100 + i,
      group: i,
      auth: 'cisco',
      virtualIp: state === 'initial' ? '0.0.0.0' : '192.0.2.254',
    }),
  ),
  {
    op: 'coup',
    state: 'speak',
    hellotimeS: 3,
    holdtimeS: 10,
    priority: 200,
    group: 255,
    auth: 'k3y',
    virtualIp: '192.0.2.254',
  },
  {
    op: 'resign',
    state: 'active',
    hellotimeS: 1,
    holdtimeS: 3,
    priority: 0,
    group: 7,
    auth: '',
    virtualIp: '192.0.2.1',
  },
];

test('tshark and scapy decode every HSRPv1 message tandem encodes to the same fields, nothing malformed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-hsrp-'));
  try {
    const file = join(dir, 'hsrp.pcap');
    writeFileSync(file, pcap(messages.map((m) => frame(m, '192.0.2.11'))));
    const fields = ['hsrp.version', 'hsrp.opcode', 'hsrp.state', 'hsrp.hellotime', 'hsrp.holdtime', 'hsrp.priority'];
    const more = [
      'hsrp.group',
      'hsrp.virt_ip',
      'ip.ttl',
      'udp.checksum.status',
      '_ws.malformed',
      '_ws.expert.severity',
    ];
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        file,
        '-o',
        'udp.check_checksum:TRUE',
        '-T',
        'fields',
        '-E',
        'separator=/t',
        ...[...fields, ...more].flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.is(rows.length, messages.length);
    rows.forEach((r, i) => {
      const m = messages[i];
      const want = [0, OP_NUM[m.op], STATE_NUM[m.state], m.hellotimeS, m.holdtimeS, m.priority, m.group].map(String);
      assert.equal(r.slice(0, 7), want, `tshark fields of message ${i}`);
      assert.is(r[7], m.virtualIp);
      assert.is(r[8], '1', 'TTL 1 (RFC 2281 5.1)');
      assert.is(r[9], '1', 'UDP checksum good');
      assert.is(r[10] ?? '', '', `malformed: ${r.join(' ')}`);
      assert.is(r[11] ?? '', '', `expert info: ${r.join(' ')}`);
    });

    const py = `
import sys
from scapy.all import rdpcap
from scapy.layers.hsrp import HSRP
for p in rdpcap(sys.argv[1]):
    h = p[HSRP]
    print(h.version, h.opcode, h.state, h.hellotime, h.holdtime, h.priority, h.group, h.auth.rstrip(b'\\0').decode(), h.virtualIP)
`;
    // Debian's interpreter: python3-scapy installs there (a pyenv python3 on PATH would not see it).
    const sc = execFileSync('/usr/bin/python3', ['-c', py, file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const srows = sc
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    assert.is(srows.length, messages.length);
    srows.forEach((r, i) => {
      const m = messages[i];
      const want = [0, OP_NUM[m.op], STATE_NUM[m.state], m.hellotimeS, m.holdtimeS, m.priority, m.group].map(String);
      assert.equal(r.slice(0, 7), want, `scapy fields of message ${i}`);
      assert.is(r[7], m.auth, 'scapy auth');
      assert.is(r[8], m.virtualIp, 'scapy virtual IP');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const v2messages: HsrpV2Message[] = (Object.keys(HSRP_V2_STATE) as (keyof typeof HSRP_V2_STATE)[]).flatMap(
  (state, i) => [
    {
      op: 'hello',
      state,
      family: 4,
      group: i * 700,
      identifier: '02:00:00:00:00:0b',
      priority: 100 + i,
      hellotimeMs: 3000,
      holdtimeMs: 10000,
      virtualIp: '192.0.2.254',
      auth: 'cisco',
    } satisfies HsrpV2Message,
    {
      op: i % 2 ? 'coup' : 'resign',
      state,
      family: 6,
      group: 4095 - i,
      identifier: '02:00:00:00:00:0c',
      priority: 200,
      hellotimeMs: 250,
      holdtimeMs: 750,
      virtualIp: 'fe80::1',
    } satisfies HsrpV2Message,
  ],
);

test('tshark decodes every HSRPv2 message tandem encodes (IPv4 and IPv6) to the same fields, nothing malformed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-hsrp2-'));
  try {
    const file = join(dir, 'hsrp2.pcap');
    writeFileSync(file, pcap(v2messages.map((m) => frameV2(m, m.family === 6 ? 'fe80::b' : '192.0.2.11'))));
    const fields = [
      'hsrp2.version',
      'hsrp2.opcode',
      'hsrp2.state',
      'hsrp2.ipversion',
      'hsrp2.group',
      'hsrp2.identifier',
    ];
    const more = [
      'hsrp2.priority',
      'hsrp2.hellotime',
      'hsrp2.holdtime',
      'hsrp2.virt_ip',
      'hsrp2.virt_ip_v6',
      'hsrp2.auth_data',
    ];
    const tail = ['udp.checksum.status', '_ws.malformed', '_ws.expert.severity', '_ws.expert.message'];
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        file,
        '-o',
        'udp.check_checksum:TRUE',
        '-T',
        'fields',
        '-E',
        'separator=/t',
        ...[...fields, ...more, ...tail].flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.is(rows.length, v2messages.length);
    rows.forEach((r, i) => {
      const m = v2messages[i];
      const want = [
        2,
        OP_NUM[m.op],
        HSRP_V2_STATE[m.state],
        m.family,
        m.group,
        m.identifier,
        m.priority,
        m.hellotimeMs,
        m.holdtimeMs,
      ];
      assert.equal(r.slice(0, 9), want.map(String), `tshark fields of v2 message ${i}`);
      assert.is(m.family === 4 ? r[9] : r[10], m.virtualIp, 'virtual IP');
      assert.is(r[11], m.auth ?? '', 'text authentication');
      assert.is(r[12], '1', 'UDP checksum good');
      assert.is(r[13] ?? '', '', `malformed: ${r.join(' ')}`);
      // tshark's IP dissector expects TTL 255 towards 224.0.0.0/24 except for groups it knows
      // (224.0.0.2, HSRPv1, is one; 224.0.0.102 is not): that note is about the IP header tandem
      // sends with TTL 1 as for v1, not about HSRP, and is the only one allowed here.
      const notes = (r[15] ?? '').split(',').filter((x) => x && !x.startsWith('"Time To Live" != 255'));
      assert.equal(notes, [], `expert info: ${r.join(' ')}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
