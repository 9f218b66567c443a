// The wire checker: capture VRRP with tshark inside a lab namespace, decode tshark's fields into
// rows, and judge them independently of tandem's own codec (Wireshark is the second opinion).
// Also a raw sender for deliberately wrong adverts, to prove the checker catches them.
import { stopProcessGroup } from './process-group.ts';
import { fileURLToPath } from 'node:url';
import type { Lab } from './netns.ts';
import { LabError } from './netns.ts';

/** One captured VRRP packet as tshark 4.0 decoded it. */
export interface VrrpRow {
  timeMs: number;
  /** IPv4 or IPv6 source address. */
  src: string;
  family: 'ipv4' | 'ipv6';
  version: number;
  /** 1 = ADVERTISEMENT, the only type RFC 5798 5.2.2 defines. */
  type: number;
  vrid: number;
  priority: number;
  /** v3: Max Adver Int (12 bits, centiseconds) x 10; v2: Adver Int (seconds) x 1000. */
  adverIntervalMs: number;
  checksum: string;
  checksumStatus: 'good' | 'bad' | 'unverified' | 'unknown';
  /** IPv4 TTL or IPv6 Hop Limit (RFC 5798 5.1.1.3 / 5.1.2.3: must be 255). */
  ttl: number;
  addresses: string[];
  malformed: boolean;
  expert: string[];
}

export type VrrpProblemReason = 'malformed' | 'bad-checksum' | 'bad-ttl' | 'bad-type' | 'unparsed';

export interface VrrpProblem {
  index: number;
  timeMs: number;
  src: string;
  vrid: number;
  reason: VrrpProblemReason;
  detail: string;
}

export interface VrrpCheck {
  ok: boolean;
  packets: number;
  problems: VrrpProblem[];
  /** Problem counts by reason (always all keys). */
  counts: Record<VrrpProblemReason, number>;
}

// Field order of the tshark command line and of parseTsharkLine.
export const TSHARK_VRRP_FIELDS = [
  'frame.time_epoch',
  'ip.src',
  'ipv6.src',
  'vrrp.version',
  'vrrp.type',
  'vrrp.virt_rtr_id',
  'vrrp.prio',
  'vrrp.adver_int',
  'vrrp.short_adver_int',
  'vrrp.checksum',
  'vrrp.checksum.status',
  'ip.ttl',
  'ipv6.hlim',
  'vrrp.ip_addr',
  'vrrp.ipv6_addr',
  '_ws.malformed',
  '_ws.expert.message',
] as const;

const SEP = '\t';
const AGG = '|';

function first(s: string | undefined): string {
  return (s ?? '').split(AGG)[0] ?? '';
}

function num(s: string | undefined): number {
  const v = first(s);
  if (v === '') return NaN;
  return v.startsWith('0x') ? parseInt(v, 16) : Number(v);
}

/** Decode one line of `tshark -T fields` output in TSHARK_VRRP_FIELDS order; null when not VRRP. */
export function parseTsharkLine(line: string): VrrpRow | null {
  const f = line.split(SEP);
  if (f.length < TSHARK_VRRP_FIELDS.length - 2) return null;
  const [
    time,
    ip4,
    ip6,
    version,
    type,
    vrid,
    prio,
    advInt,
    shortAdvInt,
    checksum,
    status,
    ttl4,
    hlim6,
    addr4,
    addr6,
    malformed,
    expert,
  ] = f;
  const v = num(version);
  if (!Number.isFinite(v)) return null;
  const family = first(ip6) !== '' && first(ip4) === '' ? 'ipv6' : 'ipv4';
  // Wireshark's checksum status: 0 bad, 1 good, 2 unverified.
  const st = num(status);
  const checksumStatus = st === 0 ? 'bad' : st === 1 ? 'good' : st === 2 ? 'unverified' : 'unknown';
  const adverIntervalMs = v === 3 ? num(shortAdvInt) * 10 : num(advInt) * 1000;
  const split = (s: string | undefined) => (s ?? '').split(AGG).filter((x) => x !== '');
  return {
    timeMs: Number(first(time)) * 1000,
    src: family === 'ipv6' ? first(ip6) : first(ip4),
    family,
    version: v,
    type: num(type),
    vrid: num(vrid),
    priority: num(prio),
    adverIntervalMs,
    checksum: first(checksum),
    checksumStatus,
    // Innermost header last: tshark lists outer first, so take the last value.
    ttl: Number(split(family === 'ipv6' ? hlim6 : ttl4).at(-1) ?? NaN),
    addresses: split(family === 'ipv6' ? addr6 : addr4),
    malformed: (malformed ?? '') !== '',
    expert: split(expert),
  };
}

/** Judge captured adverts: malformed, bad checksum, TTL/Hop Limit other than 255, wrong type. */
export function checkVrrpCapture(rows: readonly (VrrpRow | null)[]): VrrpCheck {
  const problems: VrrpProblem[] = [];
  const counts: Record<VrrpProblemReason, number> = {
    malformed: 0,
    'bad-checksum': 0,
    'bad-ttl': 0,
    'bad-type': 0,
    unparsed: 0,
  };
  const add = (index: number, r: VrrpRow | null, reason: VrrpProblemReason, detail: string) => {
    counts[reason]++;
    problems.push({ index, timeMs: r?.timeMs ?? NaN, src: r?.src ?? '', vrid: r?.vrid ?? NaN, reason, detail });
  };
  rows.forEach((r, i) => {
    if (r === null) {
      add(i, r, 'unparsed', 'tshark line did not decode as VRRP');
      return;
    }
    if (r.malformed) add(i, r, 'malformed', r.expert.join('; ') || 'malformed packet');
    if (r.checksumStatus === 'bad') add(i, r, 'bad-checksum', `checksum ${r.checksum}`);
    // RFC 5798 5.1.1.3 / 5.1.2.3: sent with TTL / Hop Limit 255; 7.1 drops anything else.
    if (r.ttl !== 255) add(i, r, 'bad-ttl', `${r.family === 'ipv6' ? 'hop limit' : 'TTL'} ${r.ttl}`);
    if (r.type !== 1) add(i, r, 'bad-type', `type ${r.type}`);
  });
  return { ok: problems.length === 0, packets: rows.length, problems, counts };
}

export interface VrrpCapture {
  /** Resolves once tshark says it is capturing (packets sent before then are missed). */
  readonly ready: Promise<void>;
  /** Stop capturing and return the decoded rows (null for a line that did not decode). */
  stop(): Promise<(VrrpRow | null)[]>;
}

const READY_TIMEOUT_MS = 15_000;

/** tshark on `ifname` inside `ns` printing `fields` of each packet that `filter` (a capture
 *  filter) takes, one tab-separated line a packet. `stop()` ends it and returns the lines. */
export function startTsharkFields(
  lab: Lab,
  ns: string,
  ifname: string,
  filter: string,
  fields: readonly string[],
  extra: readonly string[] = [],
): { ready: Promise<void>; stop(): Promise<string[]> } {
  const argv = ['tshark', '-n', '-l', '-q', '-i', ifname, '-f', filter, '-T', 'fields', '-E', 'separator=/t'];
  const child = lab.spawn(ns, [...argv, ...extra, ...fields.flatMap((f) => ['-e', f])]);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new LabError(`tshark in ${ns} not capturing after ${READY_TIMEOUT_MS} ms: ${err}`)),
      READY_TIMEOUT_MS,
    );
    timer.unref();
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Capturing on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new LabError(`tshark in ${ns} exited (${code}): ${err}`));
    });
  });
  ready.catch(() => {
    /* surfaced to whoever awaits it */
  });
  return {
    ready,
    async stop() {
      // SIGINT lets tshark flush what it has decoded; SIGKILL only if it hangs.
      await stopProcessGroup(child, exited, 'SIGINT');
      return out.split('\n').filter((l) => l.trim() !== '');
    },
  };
}

/** VRRP over IPv4 and IPv6 (IP protocol 112). */
export const VRRP_CAPTURE_FILTER = 'ip proto 112 or ip6 proto 112';

/** Start tshark on `ifname` inside `ns`, filtering IP protocol 112 (VRRP) for both families. */
export function startVrrpCapture(lab: Lab, ns: string, ifname: string): VrrpCapture {
  const t = startTsharkFields(lab, ns, ifname, VRRP_CAPTURE_FILTER, TSHARK_VRRP_FIELDS, [
    '-E',
    'occurrence=a',
    '-E',
    `aggregator=${AGG}`,
  ]);
  return { ready: t.ready, stop: async () => (await t.stop()).map(parseTsharkLine) };
}

/** Capture VRRP on `ifname` in `ns` for `durationMs` (counted from when tshark is ready). */
export async function captureVrrp(
  lab: Lab,
  ns: string,
  ifname: string,
  durationMs: number,
): Promise<(VrrpRow | null)[]> {
  const cap = startVrrpCapture(lab, ns, ifname);
  try {
    await cap.ready;
  } catch (e) {
    await cap.stop();
    throw e;
  }
  await new Promise((r) => setTimeout(r, durationMs));
  return cap.stop();
}

// ---------------------------------------------------------------------------------------------
// A raw sender for test adverts (python3: Node has no raw IP sockets).

/** RFC 1071 Internet checksum over `data`. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length % 2) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Bytes(a: string): number[] {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new LabError(`bad IPv4 address ${a}`);
  return p;
}

/**
 * A VRRPv3 IPv4 advertisement (RFC 5798 5.1), checksum over the IPv4 pseudo-header (5.2.8):
 *   0 ver(4)|type(4)  1 VRID  2 priority  3 count IPvX addr
 *   4 rsvd(4)|Max Adver Int(12, centiseconds)  6 checksum  8.. addresses
 * Independent of tandem's codec on purpose: it is the test's own reference.
 */
export function buildVrrpv3Ipv4(o: {
  src: string;
  vrid: number;
  priority: number;
  adverIntCs: number;
  addresses: string[];
  corruptChecksum?: boolean;
}): Uint8Array {
  const pkt = new Uint8Array(8 + 4 * o.addresses.length);
  pkt[0] = 0x31;
  pkt[1] = o.vrid;
  pkt[2] = o.priority;
  pkt[3] = o.addresses.length;
  pkt[4] = (o.adverIntCs >> 8) & 0x0f;
  pkt[5] = o.adverIntCs & 0xff;
  for (const [i, a] of o.addresses.entries()) pkt.set(ipv4Bytes(a), 8 + 4 * i);
  const pseudo = new Uint8Array(12 + pkt.length);
  pseudo.set(ipv4Bytes(o.src), 0);
  pseudo.set([224, 0, 0, 18], 4);
  pseudo[9] = 112;
  pseudo[10] = pkt.length >> 8;
  pseudo[11] = pkt.length & 0xff;
  pseudo.set(pkt, 12);
  let ck = internetChecksum(pseudo);
  if (o.corruptChecksum) ck ^= 0x5a5a;
  pkt[6] = ck >> 8;
  pkt[7] = ck & 0xff;
  return pkt;
}

const RAW_SEND_PY = fileURLToPath(new URL('./py/raw-vrrp-send.py', import.meta.url));

/** Send VRRP payloads to 224.0.0.18 from `src` inside `ns` with the given IPv4 TTL. */
export async function sendRawVrrpIpv4(
  lab: Lab,
  ns: string,
  src: string,
  ttl: number,
  payloads: Uint8Array[],
): Promise<void> {
  const hex = payloads.map((p) => Buffer.from(p).toString('hex'));
  await lab.exec(ns, ['python3', RAW_SEND_PY, src, String(ttl), ...hex], { timeoutMs: 10_000 });
}
