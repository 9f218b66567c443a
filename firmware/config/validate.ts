// The located tree -> a validated, defaulted TandemConfig. Every problem is collected (never only
// the first); nothing here throws or touches the system except through the injected ConfigEnv.
import { csToMs } from '../core/vrrp/timers.ts';
import { VRRP_V2_MAX_ADVER_INT_S, VRRP_V3_MAX_ADVER_INT_CS } from '../core/packet/constants.ts';
import { checkDuration, formatDuration } from './duration.ts';
import { isLinkLocalV6, notUnicast, parseIp } from './address.ts';
import { childPath } from './tree.ts';
import type { LNode, Loc, MapNode, ScalarNode, SeqNode } from './tree.ts';
import type {
  BfdConfig,
  AcceptFromPeer,
  BoardInfo,
  ChecksumMode,
  ClusterConfig,
  ConfigIssue,
  HsrpInstanceConfig,
  InstanceConfig,
  LogLevel,
  MacMode,
  MetricsConfig,
  SnmpConfig,
  StateSyncConfig,
  MqttCommandsConfig,
  MqttConfig,
  OtaConfig,
  SyncGroupConfig,
  TandemConfig,
  TrackedInterface,
  TrackedScript,
  VirtualAddress,
} from './types.ts';

/** What a file check found: used only for warnings (the file may appear before tandem runs). */
export type FileProbe = 'ok' | 'missing' | 'not-a-file' | 'not-executable' | 'unreadable';

/** The outside world validation may look at; injected so tests need no real files or OS. */
export interface ConfigEnv {
  hostname: string;
  readFile(path: string): string; // throws like fs.readFileSync
  platform: string; // process.platform
  probe(path: string, want: 'exec' | 'read'): FileProbe;
}

/** The defaults that differ per OS: runtime files under the OS's run directory, persistent ones
 *  where its daemons keep state (Linux FHS 3.0 /run and /var/lib; NetBSD, FreeBSD and OpenBSD
 *  hier(7): /var/run and /var/db). SCHED_RR is only asked for on Linux (drivers/sched.ts), so the
 *  BSDs default to no realtime priority and say nothing about it. */
export function platformDefaults(platform: string): {
  stateDir: string;
  socket: string;
  otaRoot: string;
  realtimePriority: number;
} {
  if (platform === 'linux')
    return {
      stateDir: DEFAULTS.stateDir,
      socket: DEFAULTS.socket,
      otaRoot: DEFAULTS.otaRoot,
      realtimePriority: DEFAULTS.realtimePriority,
    };
  return {
    stateDir: '/var/run/tandem',
    socket: '/var/run/tandem/tandem.sock',
    otaRoot: '/var/db/tandem',
    realtimePriority: 0,
  };
}

export const DEFAULTS = {
  configFile: '/etc/tandem/tandem.yaml',
  stateDir: '/run/tandem',
  nice: -10,
  realtimePriority: 10,
  socket: '/run/tandem/tandem.sock',
  logLevel: 'info' as LogLevel,
  version: 3 as const,
  priority: 100,
  advertIntervalMs: 1000,
  preemptDelayMs: 0,
  garpCount: 5,
  garpIntervalMs: 100,
  garpRefreshMs: 0,
  scriptIntervalMs: 2000,
  scriptTimeoutMs: 1000,
  scriptRise: 1,
  scriptFall: 1,
  notifyTimeoutMs: 5000,
  topicPrefix: 'tandem',
  healthIntervalMs: 10_000,
  protocolVersion: 5 as const,
  offlineQueue: 1000,
  otaRoot: '/var/lib/tandem',
  healthDeadlineMs: 120_000,
  bfdIntervalMs: 10,
  bfdMultiplier: 3,
};

const DEFAULT_AGENTX = '/var/agentx/master';

export const TOP_KEYS = [
  'node',
  'board',
  'state_dir',
  'control',
  'log',
  'scheduling',
  'instance_defaults',
  'instances',
  'sync_groups',
  'state_sync',
  'clusters',
  'telemetry',
  'metrics',
  'snmp',
  'ota',
] as const;
export const INSTANCE_KEYS = [
  'name',
  'interface',
  'vrid',
  'version',
  'priority',
  'advert_interval',
  'preempt',
  'preempt_delay',
  'accept_mode',
  'addresses',
  'mac_mode',
  'mac_cycle_link',
  'source_address',
  'unicast_peers',
  'checksum',
  'auth',
  'garp',
  'track',
  'notify',
  'notify_timeout',
  'protocol',
  'vhid',
  'advbase',
  'advskew',
  'passphrase',
  'bfd',
  // HSRP (protocol: hsrp)
  'group',
  'hello_time',
  'hold_time',
  'authentication',
  'md5_key',
  'md5_key_id',
  'learn',
  'accept_from',
] as const;
/** Keys that mean nothing to CARP (it has no priority, no versions, HMAC instead of auth). */
const VRRP_ONLY_KEYS: Record<string, string> = {
  vrid: 'CARP names its virtual host vhid, not vrid',
  version: 'CARP has one version (2); version is a VRRP key',
  priority: 'CARP has no priority: advskew orders the routers (lower wins)',
  advert_interval: 'CARP advertises every advbase + advskew/256 seconds; advert_interval is a VRRP key',
  preempt_delay: 'preempt_delay is a VRRP key',
  accept_mode: 'accept_mode is a VRRP key',
  unicast_peers: 'unicast CARP is not supported; unicast_peers is a VRRP key',
  checksum: 'checksum is a VRRP key (the CARP checksum has one form)',
  auth: 'CARP authenticates with passphrase (HMAC-SHA1); auth is a VRRPv2 key',
  bfd: 'BFD drives VRRP takeovers only; bfd is a VRRP key',
  accept_from: 'accept_from is a VRRP key: CARP adverts are authenticated by the passphrase HMAC',
};
const CARP_ONLY_KEYS = ['vhid', 'advbase', 'advskew', 'passphrase'] as const;
/** sc_key[20] in OpenBSD ip_carp.h. */
const CARP_PASSPHRASE_MAX = 20;
/** The priority tracking starts from for CARP: the highest a non-owner may have (254), so
 *  demotion = 254 - effective priority (docs/carp.md). */
export const CARP_BASE_PRIORITY = 254;
const MQTT_KEYS = [
  'url',
  'client_id',
  'username',
  'password_file',
  'ca',
  'cert',
  'key',
  'topic_prefix',
  'health_interval',
  'protocol_version',
  'offline_queue',
  'commands',
] as const;
const OTA_KEYS = [
  'root',
  'trusted_keys',
  'health_deadline',
  'allow_downgrade',
  'remote_hosts',
  'remote_allow_http',
] as const;

const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const NODE_RE = /^[A-Za-z0-9_.-]{1,64}$/;
// Linux IFNAMSIZ is 16 with the NUL; '/' and whitespace can never appear, ':' marks old aliases.
const IFNAME_RE = /^[^\s/:]{1,15}$/;
// RFC 5798 5.2.4 / RFC 3768 5.3.4: the address count is one octet.
const MAX_ADDRESSES = 255;
// IPv6 header 40 + VRRP header 8 + 16 per address must fit a 1500-byte Ethernet MTU.
const MAX_V6_ADDRESSES_IN_MTU = Math.floor((1500 - 40 - 8) / 16);

class Ctx {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  constructor(readonly env: ConfigEnv) {}
  error(at: Loc, reason: string, path = at.docPath) {
    this.errors.push({ file: at.file, line: at.line, path, reason });
  }
  warn(at: Loc, reason: string, path = at.docPath) {
    this.warnings.push({ file: at.file, line: at.line, path, reason });
  }
}

// ---- small typed getters: each reports its own problem and returns undefined ------------------

function describe(n: LNode): string {
  if (n.kind === 'map') return 'a mapping';
  if (n.kind === 'seq') return 'a list';
  const v = n.value;
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
  if (typeof v === 'number' || typeof v === 'bigint') return `a number (${v})`;
  if (typeof v === 'boolean') return `${v}`;
  return 'null';
}

/** The value under key; an explicit YAML null counts as not set. */
function get(m: MapNode | undefined, key: string): LNode | undefined {
  const v = m?.entries.get(key)?.value;
  return v && v.kind === 'scalar' && v.value === null ? undefined : v;
}

function missing(ctx: Ctx, m: MapNode, key: string): void {
  ctx.error(m, `missing (required)`, childPath(m.docPath, key));
}

/** Edit distance counting a swap of neighbours as one edit (vird -> vrid), to suggest a key. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined,
    bestD = Infinity;
  const w = word.toLowerCase().replace(/-/g, '_');
  for (const k of known) {
    const dd = w === k ? 0 : distance(w, k);
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function checkKeys(ctx: Ctx, m: MapNode, known: readonly string[], refuse: Record<string, string> = {}): void {
  for (const [k, { key }] of m.entries) {
    if (known.includes(k)) continue;
    if (refuse[k]) {
      ctx.error(key, refuse[k]);
      continue;
    }
    const hint = closest(k, known);
    ctx.error(key, `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`);
  }
}

function asMap(ctx: Ctx, n: LNode | undefined): MapNode | undefined {
  if (!n) return undefined;
  if (n.kind === 'map') return n;
  ctx.error(n, `expected a mapping, got ${describe(n)}`);
  return undefined;
}

function asSeq(ctx: Ctx, n: LNode | undefined): SeqNode | undefined {
  if (!n) return undefined;
  if (n.kind === 'seq') return n;
  ctx.error(n, `expected a list, got ${describe(n)}`);
  return undefined;
}

function asString(ctx: Ctx, n: LNode | undefined, what = 'a string'): string | undefined {
  if (!n) return undefined;
  if (n.kind === 'scalar' && typeof n.value === 'string') return n.value;
  ctx.error(n, `expected ${what}, got ${describe(n)}`);
  return undefined;
}

function asInt(ctx: Ctx, n: LNode | undefined, min: number, max: number): number | undefined {
  if (!n) return undefined;
  const v = n.kind === 'scalar' ? n.value : undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    ctx.error(n, `expected an integer, got ${describe(n)}`);
    return undefined;
  }
  if (v < min || v > max) {
    ctx.error(n, `must be ${min}..${max}, got ${v}`);
    return undefined;
  }
  return v;
}

/** `PORT`, `HOST:PORT` or `[IPV6]:PORT`; only a port means 127.0.0.1 (metrics stay on the box
 *  unless the operator names an address). `localhost` is 127.0.0.1, `*` every IPv4 address. */
function asListen(ctx: Ctx, n: LNode): MetricsConfig | undefined {
  const v = n.kind === 'scalar' ? n.value : undefined;
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  const m = text === undefined ? null : /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(text);
  if (!m) {
    ctx.error(n, `expected PORT, HOST:PORT or [IPV6]:PORT, got ${describe(n)}`);
    return undefined;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) {
    ctx.error(n, `port must be 1..65535, got ${port}`);
    return undefined;
  }
  const hostText = m[1] ?? m[2];
  if (hostText === undefined || hostText === 'localhost') return { host: '127.0.0.1', port };
  if (hostText === '*') return { host: '0.0.0.0', port };
  const ip = parseIp(hostText);
  if (!ip.ok) {
    ctx.error(n, `${ip.reason} (the address to listen on)`);
    return undefined;
  }
  return { host: ip.address, port };
}

function asBool(ctx: Ctx, n: LNode | undefined): boolean | undefined {
  if (!n) return undefined;
  if (n.kind === 'scalar' && typeof n.value === 'boolean') return n.value;
  // YAML 1.2 reads yes/no/on/off as strings; say so rather than a bare "wrong type".
  const yaml11 = n.kind === 'scalar' && typeof n.value === 'string' && /^(yes|no|on|off|y|n)$/i.test(n.value);
  ctx.error(n, `expected true or false, got ${describe(n)}${yaml11 ? ' (YAML 1.2: write true or false)' : ''}`);
  return undefined;
}

function asEnum<T extends string | number>(ctx: Ctx, n: LNode | undefined, values: readonly T[]): T | undefined {
  if (!n) return undefined;
  if (n.kind === 'scalar' && values.includes(n.value as T)) return n.value as T;
  const list = values.map((v) => String(v));
  const choices = list.length === 2 ? `${list[0]} or ${list[1]}` : `one of ${list.join(', ')}`;
  // Print the bare value when its type is right (mode: virt), else say what it is (version: "3").
  const sameType = n.kind === 'scalar' && values.some((v) => typeof v === typeof n.value);
  ctx.error(n, `must be ${choices}, got ${sameType ? String((n as ScalarNode).value) : describe(n)}`);
  return undefined;
}

function asDuration(ctx: Ctx, n: LNode | undefined, minMs: number, maxMs: number): number | undefined {
  if (!n) return undefined;
  const v = n.kind === 'scalar' ? n.value : undefined;
  const r = checkDuration(v);
  if (!r.ok) {
    ctx.error(n, n.kind === 'scalar' ? r.reason : `expected a duration, got ${describe(n)}`);
    return undefined;
  }
  if (r.ms < minMs || r.ms > maxMs) {
    ctx.error(
      n,
      `must be ${formatDuration(minMs)}..${formatDuration(maxMs)}, got ${typeof v === 'string' ? v : `${v}s`}`,
    );
    return undefined;
  }
  return r.ms;
}

function asAbsPath(ctx: Ctx, n: LNode | undefined): string | undefined {
  const s = asString(ctx, n, 'a path');
  if (s === undefined || !n) return undefined;
  if (!s.startsWith('/')) {
    ctx.error(n, `must be an absolute path, got "${s}"`);
    return undefined;
  }
  if (s.includes('\0')) {
    ctx.error(n, 'contains a NUL byte');
    return undefined;
  }
  return s;
}

function probeWarn(ctx: Ctx, n: LNode | undefined, path: string | undefined, want: 'exec' | 'read'): void {
  if (!n || path === undefined) return;
  const p = ctx.env.probe(path, want);
  const text: Record<FileProbe, string | undefined> = {
    ok: undefined,
    missing: `${path} does not exist`,
    'not-a-file': `${path} is not a regular file`,
    'not-executable': `${path} is not executable`,
    unreadable: `${path} is not readable`,
  };
  if (text[p]) ctx.warn(n, text[p]!);
}

function seqItems(ctx: Ctx, n: LNode | undefined): LNode[] {
  return asSeq(ctx, n)?.items ?? [];
}

// ---- addresses ---------------------------------------------------------------------------------

type Ip = { family: 4 | 6; address: string; bytes: Uint8Array };

function asIp(ctx: Ctx, n: LNode | undefined): Ip | undefined {
  const s = asString(ctx, n, 'an IP address');
  if (s === undefined || !n) return undefined;
  const r = parseIp(s.trim());
  if (!r.ok) {
    ctx.error(n, r.reason);
    return undefined;
  }
  const bad = notUnicast(r.family, r.bytes);
  if (bad) {
    ctx.error(n, `${s} ${bad}`);
    return undefined;
  }
  return r;
}

function asPrefixed(ctx: Ctx, n: LNode): (Ip & { prefixLength: number }) | undefined {
  if (n.kind !== 'scalar' || typeof n.value !== 'string') {
    ctx.error(n, `expected an address like 192.0.2.1/24, got ${describe(n)}`);
    return undefined;
  }
  const [addr, len, extra] = n.value.trim().split('/');
  if (extra !== undefined) {
    ctx.error(n, `"${n.value}" is not an address with an optional /prefix`);
    return undefined;
  }
  const ip = asIp(ctx, { ...n, value: addr } as ScalarNode);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (len === undefined) return { ...ip, prefixLength: max };
  if (!/^\d{1,3}$/.test(len) || Number(len) < 1 || Number(len) > max) {
    ctx.error(n, `prefix length must be 1..${max}, got /${len}`);
    return undefined;
  }
  return { ...ip, prefixLength: Number(len) };
}

// ---- instances ---------------------------------------------------------------------------------

interface InstanceDraft {
  cfg: InstanceConfig;
  node: MapNode;
  nameNode?: LNode;
  ok: boolean;
}

function validateInstance(ctx: Ctx, m: MapNode, board: BoardInfo | undefined): InstanceDraft {
  const before = ctx.errors.length;
  checkKeys(ctx, m, INSTANCE_KEYS);
  const nameNode = get(m, 'name');
  let name = asString(ctx, nameNode);
  if (!nameNode) missing(ctx, m, 'name');
  if (name !== undefined && !NAME_RE.test(name)) {
    ctx.error(nameNode!, `"${name}" must be 1..32 characters of A-Z a-z 0-9 _ . -`);
    name = undefined;
  }
  const label = name ?? m.docPath;
  // A cross-field problem found on a value that came from instance_defaults: name the instance.
  const inside = (n: Loc) => n.file === m.file && (n.docPath === m.docPath || n.docPath.startsWith(`${m.docPath}.`));
  const where = (n: Loc) => (inside(n) ? '' : ` (instance ${label})`);
  const cross = (n: Loc, reason: string) => ctx.error(n, reason + where(n));

  const ifNode = get(m, 'interface');
  if (!ifNode) missing(ctx, m, 'interface');
  const iface = resolveInterface(ctx, ifNode, board);

  // A bad protocol value is reported once; the keys present decide how the rest is checked.
  const protocol =
    asEnum(ctx, get(m, 'protocol'), ['vrrp', 'carp', 'hsrp'] as const) ??
    (get(m, 'vhid') && !get(m, 'vrid') ? 'carp' : 'vrrp');
  if (protocol === 'hsrp') return validateHsrpInstance(ctx, m, board, { name, nameNode, iface, before, cross, inside });
  for (const k of HSRP_ONLY_KEYS) {
    const n = get(m, k);
    if (n && inside(n)) cross(n, `${k} is an HSRP key: it needs protocol: hsrp`);
  }
  if (protocol === 'carp') return validateCarpInstance(ctx, m, board, { name, nameNode, iface, before, cross, inside });
  for (const k of CARP_ONLY_KEYS) {
    const n = get(m, k);
    // From instance_defaults it may be meant for the CARP instances only.
    if (n && inside(n)) cross(n, `${k} is a CARP key: it needs protocol: carp`);
  }

  const vridNode = get(m, 'vrid');
  if (!vridNode) missing(ctx, m, 'vrid');
  const vrid = asInt(ctx, vridNode, 1, 255);
  const versionNode = get(m, 'version');
  const version = asEnum(ctx, versionNode, [2, 3] as const) ?? DEFAULTS.version;

  const prioNode = get(m, 'priority');
  const priority = asInt(ctx, prioNode, 1, 255) ?? DEFAULTS.priority;
  if (priority === 255)
    ctx.warn(
      prioNode!,
      "priority 255 means address owner: every virtual address must be this router's own address (RFC 5798 5.2.4)",
    );

  const aiNode = get(m, 'advert_interval');
  let advertIntervalMs = DEFAULTS.advertIntervalMs;
  if (aiNode) {
    const ms = asDuration(ctx, aiNode, 0, Number.MAX_SAFE_INTEGER);
    if (ms !== undefined) {
      if (version === 3) {
        // RFC 5798 5.2.7: Max Adver Int is 12 bits of centiseconds.
        if (ms % 10 !== 0)
          cross(aiNode, `VRRPv3 intervals are whole centiseconds (multiple of 10ms), got ${formatDuration(ms)}`);
        else if (ms < 10 || ms > csToMs(VRRP_V3_MAX_ADVER_INT_CS))
          cross(aiNode, `VRRPv3 interval must be 10ms..40.95s, got ${formatDuration(ms)}`);
        else advertIntervalMs = ms;
      } else {
        // RFC 3768 5.3.7: Adver Int is one octet of seconds.
        if (ms % 1000 !== 0 || ms < 1000 || ms > VRRP_V2_MAX_ADVER_INT_S * 1000)
          cross(aiNode, `VRRPv2 interval must be whole seconds 1s..255s, got ${formatDuration(ms)}`);
        else advertIntervalMs = ms;
      }
    }
  }

  const preemptNode = get(m, 'preempt');
  const preempt = asBool(ctx, preemptNode) ?? true;
  const pdNode = get(m, 'preempt_delay');
  const preemptDelayMs = asDuration(ctx, pdNode, 0, 1000_000) ?? DEFAULTS.preemptDelayMs;
  if (preemptDelayMs > 0 && !preempt) cross(pdNode!, 'preempt_delay needs preempt: true');
  // Default true (keepalived without vrrp_strict); RFC 5798 6.1's default is false.
  const acceptNode = get(m, 'accept_mode');
  const acceptMode = asBool(ctx, acceptNode) ?? true;
  if (!acceptMode && ctx.env.platform !== 'linux') {
    ctx.error(
      acceptNode!,
      `accept_mode: false needs a packet filter tandem drives only on Linux (nftables); on ${ctx.env.platform} leave it true`,
    );
  }

  // Addresses: one family, canonical, no duplicates.
  const addrNode = get(m, 'addresses');
  if (!addrNode) missing(ctx, m, 'addresses');
  const addresses: VirtualAddress[] = [];
  let family: 4 | 6 | undefined;
  let firstBytes: Uint8Array | undefined;
  const addrSeq = asSeq(ctx, addrNode);
  if (addrSeq) {
    if (addrSeq.items.length === 0) cross(addrSeq, 'needs at least one address');
    if (addrSeq.items.length > MAX_ADDRESSES)
      cross(addrSeq, `at most ${MAX_ADDRESSES} addresses (the count is one octet), got ${addrSeq.items.length}`);
    const seen = new Set<string>();
    for (const item of addrSeq.items) {
      const a = asPrefixed(ctx, item);
      if (!a) continue;
      if (family === undefined) {
        family = a.family;
        firstBytes = a.bytes;
      } else if (a.family !== family) {
        cross(item, `mixed address families: ${a.address} is IPv${a.family}, the first address is IPv${family}`);
        continue;
      }
      if (seen.has(a.address)) {
        cross(item, `${a.address} is listed twice`);
        continue;
      }
      seen.add(a.address);
      addresses.push({ address: a.address, prefixLength: a.prefixLength });
    }
    if (family === 6 && version === 2)
      cross(versionNode ?? addrSeq, 'VRRPv2 is IPv4 only (RFC 3768); use version: 3 for IPv6');
    if (family === 6 && firstBytes && !isLinkLocalV6(firstBytes)) {
      ctx.warn(
        addrSeq.items[0],
        `the first IPv6 address should be link-local (fe80::/10): peers compare it (RFC 5798 5.2.9)`,
      );
    }
    if (family === 6 && addresses.length > MAX_V6_ADDRESSES_IN_MTU) {
      ctx.warn(
        addrSeq,
        `${addresses.length} IPv6 addresses make an advert larger than a 1500-byte MTU (at most ${MAX_V6_ADDRESSES_IN_MTU} fit)`,
      );
    }
  }

  const { macMode, macCycleLink, sourceAddress } = validateMacKeys(ctx, m, family, cross);

  const unicastPeers: string[] = [];
  for (const item of seqItems(ctx, get(m, 'unicast_peers'))) {
    const ip = asIp(ctx, item);
    if (!ip) continue;
    if (family !== undefined && ip.family !== family) {
      cross(item, `unicast peer ${ip.address} is IPv${ip.family}, the instance's addresses are IPv${family}`);
      continue;
    }
    if (unicastPeers.includes(ip.address)) {
      cross(item, `unicast peer ${ip.address} is listed twice`);
      continue;
    }
    unicastPeers.push(ip.address);
  }

  const bfd = validateBfd(ctx, asMap(ctx, get(m, 'bfd')), family, cross);
  const acceptFrom = validateAcceptFrom(ctx, get(m, 'accept_from'), family, cross);

  const ckNode = get(m, 'checksum');
  const checksum: ChecksumMode = asEnum(ctx, ckNode, ['auto', 'pseudo-header', 'vrrp-only'] as const) ?? 'auto';
  if (checksum !== 'auto' && (version !== 3 || family === 6))
    cross(ckNode!, 'checksum applies only to VRRPv3 over IPv4');

  const auth = validateAuth(ctx, get(m, 'auth'), version, cross);
  const { garp, track, notify, notifyTimeoutMs } = validateHooks(ctx, m, board);

  const cfg: InstanceConfig = {
    name: name ?? '',
    interface: iface ?? '',
    protocol: 'vrrp',
    vrid: vrid ?? 0,
    version,
    family: family ?? 4,
    priority,
    advertIntervalMs,
    preempt,
    preemptDelayMs,
    acceptMode,
    addresses,
    macMode: macMode as MacMode,
    macCycleLink,
    ...(sourceAddress !== undefined ? { sourceAddress } : {}),
    unicastPeers,
    ...(bfd ? { bfd } : {}),
    ...(acceptFrom ? { acceptFrom } : {}),
    checksum,
    auth,
    garp,
    track,
    ...(notify !== undefined ? { notify } : {}),
    notifyTimeoutMs,
    line: m.line,
  };
  return { cfg, node: m, nameNode, ok: ctx.errors.length === before };
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** accept_from: the routers whose adverts count (keepalived's check_unicast_src for multicast
 *  too), each an address or `{ address, mac }` to also pin its Ethernet source. */
function validateAcceptFrom(
  ctx: Ctx,
  n: LNode | undefined,
  family: 4 | 6 | undefined,
  cross: (at: Loc, reason: string) => void,
): AcceptFromPeer[] | undefined {
  if (!n) return undefined;
  const out: AcceptFromPeer[] = [];
  const list = asSeq(ctx, n);
  if (list && list.items.length === 0) ctx.error(list, 'needs at least one address (or leave accept_from out)');
  for (const item of list?.items ?? []) {
    const map = item.kind === 'map' ? item : undefined;
    if (map) checkKeys(ctx, map, ['address', 'mac']);
    const addrNode = map ? get(map, 'address') : item;
    if (map && !addrNode) missing(ctx, map, 'address');
    const ip = asIp(ctx, addrNode);
    let mac: string | undefined;
    const macNode = map ? get(map, 'mac') : undefined;
    const macText = asString(ctx, macNode, 'a MAC address (aa:bb:cc:dd:ee:ff)');
    if (macText !== undefined) {
      if (MAC_RE.test(macText)) mac = macText.toLowerCase();
      else ctx.error(macNode!, `"${macText}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    }
    if (!ip) continue;
    if (family !== undefined && ip.family !== family) {
      cross(item, `${ip.address} is IPv${ip.family}, the instance's addresses are IPv${family}`);
      continue;
    }
    if (out.some((p) => p.address === ip.address)) {
      cross(item, `${ip.address} is listed twice`);
      continue;
    }
    out.push({ address: ip.address, ...(mac ? { mac } : {}) });
  }
  return out;
}

/** A CARP instance (OpenBSD carp(4) / ucarp): vhid, advbase, advskew, passphrase, and the keys it
 *  shares with VRRP (addresses, preempt, mac_mode, garp, track, notify). */
function validateCarpInstance(
  ctx: Ctx,
  m: MapNode,
  board: BoardInfo | undefined,
  d: {
    name: string | undefined;
    nameNode: LNode | undefined;
    iface: string | undefined;
    before: number;
    cross: (n: Loc, reason: string) => void;
    inside: (n: Loc) => boolean;
  },
): InstanceDraft {
  const { cross } = d;
  for (const [k] of m.entries) {
    const n = get(m, k);
    // From instance_defaults it may be meant for the VRRP instances only.
    if (VRRP_ONLY_KEYS[k] && n && d.inside(n)) cross(n, VRRP_ONLY_KEYS[k]);
  }
  const vhidNode = get(m, 'vhid');
  if (!vhidNode) missing(ctx, m, 'vhid');
  const vhid = asInt(ctx, vhidNode, 1, 255);
  // ip_carp.c refuses advbase 255 and advskew 255 from ifconfig; 255/255 is ucarp's "last advert".
  const advbase = asInt(ctx, get(m, 'advbase'), 1, 254) ?? 1;
  const advskew = asInt(ctx, get(m, 'advskew'), 0, 254) ?? 0;
  const ppNode = get(m, 'passphrase');
  let passphrase = '';
  if (ppNode) {
    const p = asString(ctx, ppNode, 'a passphrase');
    if (p !== undefined) {
      const len = new TextEncoder().encode(p).length;
      if (len > CARP_PASSPHRASE_MAX)
        cross(ppNode, `a CARP passphrase is at most ${CARP_PASSPHRASE_MAX} bytes (ip_carp.h sc_key), got ${len}`);
      else passphrase = p;
      if (len === CARP_PASSPHRASE_MAX)
        ctx.warn(ppNode, 'ucarp takes at most 19 bytes (it keeps a NUL in its 20-byte key): it cannot pair');
    }
  } else if (vhidNode) {
    ctx.warn(vhidNode, 'no passphrase: the HMAC key is all zeros and anyone on the LAN can take over');
  }
  const preempt = asBool(ctx, get(m, 'preempt')) ?? true;

  const addrNode = get(m, 'addresses');
  if (!addrNode) missing(ctx, m, 'addresses');
  const addresses: VirtualAddress[] = [];
  let family: 4 | 6 | undefined;
  const addrSeq = asSeq(ctx, addrNode);
  if (addrSeq) {
    if (addrSeq.items.length === 0) cross(addrSeq, 'needs at least one address');
    const seen = new Set<string>();
    for (const item of addrSeq.items) {
      const a = asPrefixed(ctx, item);
      if (!a) continue;
      if (family === undefined) family = a.family;
      else if (a.family !== family) {
        // carp(4) carries both families on one vhid; tandem sends from one source per instance.
        cross(item, `mixed address families: ${a.address} is IPv${a.family}, the first address is IPv${family}`);
        continue;
      }
      if (seen.has(a.address)) {
        cross(item, `${a.address} is listed twice`);
        continue;
      }
      seen.add(a.address);
      addresses.push({ address: a.address, prefixLength: a.prefixLength });
    }
    if (addresses.length > 1)
      ctx.warn(addrSeq, "ucarp's HMAC covers one address: a multi-address vhid pairs with carp(4), not ucarp");
  }
  const { macMode, macCycleLink, sourceAddress } = validateMacKeys(ctx, m, family, cross);
  const { garp, track, notify, notifyTimeoutMs } = validateHooks(ctx, m, board);
  const cfg: InstanceConfig = {
    name: d.name ?? '',
    interface: d.iface ?? '',
    protocol: 'carp',
    vrid: vhid ?? 0,
    carp: { advbase, advskew, passphrase },
    version: 2,
    family: family ?? 4,
    priority: CARP_BASE_PRIORITY,
    advertIntervalMs: advbase * 1000 + Math.round((advskew * 1000) / 256),
    preempt,
    preemptDelayMs: 0,
    acceptMode: true, // carp(4) has no Accept_Mode: a master accepts packets to its addresses
    addresses,
    macMode: macMode as MacMode,
    macCycleLink,
    ...(sourceAddress !== undefined ? { sourceAddress } : {}),
    unicastPeers: [],
    checksum: 'auto',
    auth: { type: 'none' },
    garp,
    track,
    ...(notify !== undefined ? { notify } : {}),
    notifyTimeoutMs,
    line: m.line,
  };
  return { cfg, node: m, nameNode: d.nameNode, ok: ctx.errors.length === d.before };
}

/** Keys an HSRP instance refuses, with why. */
const NOT_HSRP_KEYS: Record<string, string> = {
  vrid: 'HSRP names its virtual router group, not vrid',
  vhid: 'vhid is a CARP key',
  advbase: 'advbase is a CARP key; HSRP sends Hellos every hello_time',
  advskew: 'advskew is a CARP key',
  passphrase: 'passphrase is a CARP key; HSRP authenticates with authentication (text) or md5_key',
  advert_interval: 'HSRP sends Hellos every hello_time; advert_interval is a VRRP key',
  preempt_delay: 'preempt_delay is a VRRP key',
  accept_mode: 'accept_mode is a VRRP key',
  unicast_peers: 'unicast HSRP is not supported; unicast_peers is a VRRP key',
  checksum: 'checksum is a VRRP key (HSRP rides on UDP)',
  auth: 'HSRP authenticates with authentication (text) or md5_key; auth is a VRRPv2 key',
};
const HSRP_ONLY_KEYS = [
  'group',
  'hello_time',
  'hold_time',
  'authentication',
  'md5_key',
  'md5_key_id',
  'learn',
] as const;
/** RFC 2281 5.1: 8 octets of clear text, "cisco" when none is configured. */
const HSRP_AUTH_TEXT_MAX = 8;
const HSRP_DEFAULT_AUTH_TEXT = 'cisco';
/** Cisco's key-string limit for HSRP MD5. */
const HSRP_MD5_KEY_MAX = 64;

/** An HSRP instance (RFC 2281 v1, Cisco's v2): group, version, priority, preempt, hello/hold time,
 *  text or MD5 authentication, one virtual IP or learn, and the keys it shares with VRRP. */
function validateHsrpInstance(
  ctx: Ctx,
  m: MapNode,
  board: BoardInfo | undefined,
  d: {
    name: string | undefined;
    nameNode: LNode | undefined;
    iface: string | undefined;
    before: number;
    cross: (n: Loc, reason: string) => void;
    inside: (n: Loc) => boolean;
  },
): InstanceDraft {
  const { cross } = d;
  for (const [k] of m.entries) {
    const n = get(m, k);
    if (NOT_HSRP_KEYS[k] && n && d.inside(n)) cross(n, NOT_HSRP_KEYS[k]);
  }
  const versionNode = get(m, 'version');
  const version = asEnum(ctx, versionNode, [1, 2] as const) ?? 1;
  const groupNode = get(m, 'group');
  if (!groupNode) missing(ctx, m, 'group');
  let group = asInt(ctx, groupNode, 0, 4095);
  if (group !== undefined && version === 1 && group > 255) {
    cross(groupNode!, `HSRPv1 groups are 0..255 (RFC 2281 5.1), got ${group}: use version: 2 for groups up to 4095`);
    group = undefined;
  }
  const priority = asInt(ctx, get(m, 'priority'), 0, 255) ?? 100;
  const preempt = asBool(ctx, get(m, 'preempt')) ?? false;

  // Timers: v1 carries whole seconds in one byte each; v2 milliseconds in 32 bits.
  const helloNode = get(m, 'hello_time');
  const holdNode = get(m, 'hold_time');
  const maxMs = 255_000;
  let hellotimeMs = asDuration(ctx, helloNode, version === 1 ? 1000 : 10, maxMs) ?? 3000;
  let holdtimeMs = asDuration(ctx, holdNode, version === 1 ? 1000 : 30, maxMs) ?? 10_000;
  if (version === 1) {
    for (const [n, v] of [
      [helloNode, hellotimeMs],
      [holdNode, holdtimeMs],
    ] as const)
      if (n && v % 1000 !== 0) cross(n, `HSRPv1 carries whole seconds (RFC 2281 5.1): use version: 2 for ${v} ms`);
    hellotimeMs = Math.round(hellotimeMs / 1000) * 1000;
    holdtimeMs = Math.round(holdtimeMs / 1000) * 1000;
  }
  if ((helloNode || holdNode) && holdtimeMs <= hellotimeMs)
    cross(holdNode ?? helloNode!, `hold_time (${holdtimeMs} ms) must be longer than hello_time (${hellotimeMs} ms)`);
  else if ((helloNode || holdNode) && holdtimeMs < 3 * hellotimeMs)
    ctx.warn(
      holdNode ?? helloNode!,
      'hold_time under 3 x hello_time: one lost Hello can cause a takeover (RFC 2281 5.1)',
    );

  // Authentication: text (default "cisco") or MD5.
  const textNode = get(m, 'authentication');
  const md5Node = get(m, 'md5_key');
  const keyIdNode = get(m, 'md5_key_id');
  let auth: HsrpInstanceConfig['auth'] = { type: 'text', text: HSRP_DEFAULT_AUTH_TEXT };
  if (textNode && md5Node) cross(md5Node, 'md5_key and authentication (text) exclude each other: choose one');
  if (md5Node) {
    const key = asString(ctx, md5Node, 'an MD5 key');
    const keyId = asInt(ctx, keyIdNode, 0, 0xffffffff) ?? 0;
    const len = key === undefined ? 0 : new TextEncoder().encode(key).length;
    if (key !== undefined && (len < 1 || len > HSRP_MD5_KEY_MAX))
      cross(md5Node, `an HSRP MD5 key is 1..${HSRP_MD5_KEY_MAX} bytes, got ${len}`);
    else if (key !== undefined) auth = { type: 'md5', key, keyId };
  } else {
    if (keyIdNode) cross(keyIdNode, 'md5_key_id needs md5_key');
    if (textNode) {
      const text = asString(ctx, textNode, 'an authentication text');
      const len = text === undefined ? 0 : new TextEncoder().encode(text).length;
      if (text !== undefined && len > HSRP_AUTH_TEXT_MAX)
        cross(textNode, `HSRP text authentication is at most ${HSRP_AUTH_TEXT_MAX} bytes (RFC 2281 5.1), got ${len}`);
      else if (text !== undefined) auth = { type: 'text', text };
    }
  }

  // One virtual IP per group (RFC 2281 5.1), or none and learn it.
  const learnNode = get(m, 'learn');
  const learn = asBool(ctx, learnNode) ?? false;
  const addrNode = get(m, 'addresses');
  const addresses: VirtualAddress[] = [];
  let family: 4 | 6 | undefined;
  if (learn && addrNode) cross(learnNode!, 'learn: true takes the virtual IP from the active router: remove addresses');
  else if (!learn && !addrNode)
    ctx.error(
      m,
      'missing (required, or learn: true to learn the virtual IP from the active router, RFC 2281 Learn)',
      childPath(m.docPath, 'addresses'),
    );
  const addrSeq = asSeq(ctx, addrNode);
  if (addrSeq) {
    if (addrSeq.items.length !== 1)
      cross(addrSeq, `HSRP carries one virtual IP per group (RFC 2281 5.1), got ${addrSeq.items.length}`);
    const a = addrSeq.items.length ? asPrefixed(ctx, addrSeq.items[0]) : undefined;
    if (a && a.family === 6 && version === 1) cross(addrSeq.items[0], 'HSRPv1 is IPv4 only: IPv6 needs version: 2');
    else if (a) {
      family = a.family;
      addresses.push({ address: a.address, prefixLength: a.prefixLength });
    }
  }
  const { macMode, macCycleLink, sourceAddress } = validateMacKeys(ctx, m, family, cross);
  const { garp, track, notify, notifyTimeoutMs } = validateHooks(ctx, m, board);
  const cfg: InstanceConfig = {
    name: d.name ?? '',
    interface: d.iface ?? '',
    protocol: 'hsrp',
    vrid: group ?? 0,
    hsrp: {
      version,
      group: group ?? 0,
      hellotimeMs,
      holdtimeMs,
      timersConfigured: helloNode !== undefined || holdNode !== undefined,
      auth,
      learn,
    },
    version: 2,
    family: family ?? 4,
    priority,
    advertIntervalMs: hellotimeMs,
    preempt,
    preemptDelayMs: 0,
    acceptMode: false,
    addresses,
    macMode: macMode as MacMode,
    macCycleLink,
    ...(sourceAddress !== undefined ? { sourceAddress } : {}),
    unicastPeers: [],
    checksum: 'auto',
    auth: { type: 'none' },
    garp,
    track,
    ...(notify !== undefined ? { notify } : {}),
    notifyTimeoutMs,
    line: m.line,
  };
  return { cfg, node: m, nameNode: d.nameNode, ok: ctx.errors.length === d.before };
}

/** The keys every instance protocol shares about its MAC and source: mac_mode, mac_cycle_link,
 *  source_address. */
function validateMacKeys(
  ctx: Ctx,
  m: MapNode,
  family: 4 | 6 | undefined,
  cross: (n: Loc, reason: string) => void,
): { macMode: 'none' | 'virtual' | 'move'; macCycleLink: boolean; sourceAddress: string | undefined } {
  const macMode = asEnum(ctx, get(m, 'mac_mode'), ['none', 'virtual', 'move'] as const) ?? 'none';
  if (macMode === 'virtual' && ctx.env.platform !== 'linux') {
    ctx.error(get(m, 'mac_mode')!, `mac_mode: virtual needs a Linux macvlan; on ${ctx.env.platform} use move or none`);
  }
  const mclNode = get(m, 'mac_cycle_link');
  const macCycleLink = asBool(ctx, mclNode) ?? false;
  if (macCycleLink && macMode !== 'move') cross(mclNode!, 'mac_cycle_link needs mac_mode: move');
  const srcNode = get(m, 'source_address');
  let sourceAddress: string | undefined;
  if (srcNode) {
    const ip = asIp(ctx, srcNode);
    if (ip && family !== undefined && ip.family !== family)
      cross(srcNode, `${ip.address} is IPv${ip.family}, the instance's addresses are IPv${family}`);
    else if (ip) sourceAddress = ip.address;
  }
  return { macMode, macCycleLink, sourceAddress };
}

/** The keys every instance protocol shares about what runs on a transition: garp, track, notify. */
function validateHooks(ctx: Ctx, m: MapNode, board: BoardInfo | undefined) {
  const garp = validateGarp(ctx, asMap(ctx, get(m, 'garp')));
  const track = validateTrack(ctx, asMap(ctx, get(m, 'track')), board);
  const notifyNode = get(m, 'notify');
  const notify = asAbsPath(ctx, notifyNode);
  probeWarn(ctx, notifyNode, notify, 'exec');
  const notifyTimeoutMs = asDuration(ctx, get(m, 'notify_timeout'), 100, 600_000) ?? DEFAULTS.notifyTimeoutMs;
  return { garp, track, notify, notifyTimeoutMs };
}

function resolveInterface(ctx: Ctx, n: LNode | undefined, board: BoardInfo | undefined): string | undefined {
  const s = asString(ctx, n, 'an interface name');
  if (s === undefined || !n) return undefined;
  const name = board?.interfaces[s] ?? s;
  if (!IFNAME_RE.test(name) || name === '.' || name === '..') {
    ctx.error(n, `"${name}" is not an interface name (1..15 characters, no space, / or :)`);
    return undefined;
  }
  return name;
}

function validateAuth(
  ctx: Ctx,
  n: LNode | undefined,
  version: 2 | 3,
  cross: (n: Loc, r: string) => void,
): InstanceConfig['auth'] {
  const m = asMap(ctx, n);
  if (!m) return { type: 'none' };
  checkKeys(ctx, m, ['type', 'password']);
  const typeNode = get(m, 'type');
  const type = asEnum(ctx, typeNode, ['none', 'simple'] as const) ?? 'none';
  const pwNode = get(m, 'password');
  if (type === 'none') {
    if (pwNode) cross(pwNode, 'password needs type: simple');
    return { type: 'none' };
  }
  // RFC 5798 removed authentication; RFC 3768 5.3.6 keeps type 1 only for RFC 2338 peers.
  if (version === 3) cross(typeNode!, 'authentication is VRRPv2 only (RFC 5798 removed it)');
  if (!pwNode) {
    ctx.error(m, 'missing (required with type: simple)', childPath(m.docPath, 'password'));
    return { type: 'none' };
  }
  const pw = asString(ctx, pwNode, 'a string (quote it)');
  if (pw === undefined) return { type: 'none' };
  const len = Buffer.byteLength(pw, 'utf8');
  if (len < 1 || len > 8) {
    ctx.error(pwNode, `must be 1..8 bytes (RFC 3768 5.3.6 field is 8 octets), got ${len}`);
    return { type: 'none' };
  }
  return { type: 'simple', password: pw };
}

function validateGarp(ctx: Ctx, m: MapNode | undefined): InstanceConfig['garp'] {
  if (m) checkKeys(ctx, m, ['count', 'interval', 'refresh']);
  return {
    count: asInt(ctx, get(m, 'count'), 0, 100) ?? DEFAULTS.garpCount,
    intervalMs: asDuration(ctx, get(m, 'interval'), 0, 10_000) ?? DEFAULTS.garpIntervalMs,
    refreshMs: asDuration(ctx, get(m, 'refresh'), 0, 86_400_000) ?? DEFAULTS.garpRefreshMs,
  };
}

/** `bfd: { peer, interval, multiplier }` (docs/bfd.md). RFC 5880 4.1: Detect Mult is one octet
 *  and nonzero; the intervals are 32-bit microseconds, here 1 ms .. 60 s. */
function validateBfd(
  ctx: Ctx,
  m: MapNode | undefined,
  family: 4 | 6 | undefined,
  cross: (n: Loc, reason: string) => void,
): BfdConfig | undefined {
  if (!m) return undefined;
  checkKeys(ctx, m, ['peer', 'interval', 'multiplier']);
  const peerNode = get(m, 'peer');
  if (!peerNode) missing(ctx, m, 'peer');
  const ip = asIp(ctx, peerNode);
  if (ip && family !== undefined && ip.family !== family) {
    cross(peerNode!, `BFD peer ${ip.address} is IPv${ip.family}, the instance's addresses are IPv${family}`);
    return undefined;
  }
  const intervalMs = asDuration(ctx, get(m, 'interval'), 1, 60_000) ?? DEFAULTS.bfdIntervalMs;
  const multiplier = asInt(ctx, get(m, 'multiplier'), 1, 255) ?? DEFAULTS.bfdMultiplier;
  return ip ? { peer: ip.address, intervalMs, multiplier } : undefined;
}

function asWeight(ctx: Ctx, n: LNode | undefined): number | undefined {
  const w = asInt(ctx, n, -254, 254);
  if (w === 0) {
    ctx.error(n!, 'weight 0 has no effect: omit weight to go to fault while down');
    return undefined;
  }
  return w;
}

function validateTrack(ctx: Ctx, m: MapNode | undefined, board: BoardInfo | undefined): InstanceConfig['track'] {
  const interfaces: TrackedInterface[] = [];
  const scripts: TrackedScript[] = [];
  if (!m) return { interfaces, scripts };
  checkKeys(ctx, m, ['interfaces', 'scripts']);
  for (const item of seqItems(ctx, get(m, 'interfaces'))) {
    const im = asMap(ctx, item);
    if (!im) continue;
    checkKeys(ctx, im, ['name', 'weight']);
    const nameNode = get(im, 'name');
    if (!nameNode) {
      missing(ctx, im, 'name');
      continue;
    }
    const name = resolveInterface(ctx, nameNode, board);
    const weight = asWeight(ctx, get(im, 'weight'));
    if (name === undefined) continue;
    if (interfaces.some((i) => i.name === name)) {
      ctx.error(nameNode, `interface ${name} is tracked twice`);
      continue;
    }
    interfaces.push(weight === undefined ? { name } : { name, weight });
  }
  for (const item of seqItems(ctx, get(m, 'scripts'))) {
    const sm = asMap(ctx, item);
    if (!sm) continue;
    checkKeys(ctx, sm, ['run', 'interval', 'timeout', 'rise', 'fall', 'weight']);
    const runNode = get(sm, 'run');
    if (!runNode) {
      missing(ctx, sm, 'run');
      continue;
    }
    const run = asAbsPath(ctx, runNode);
    probeWarn(ctx, runNode, run, 'exec');
    const intervalMs = asDuration(ctx, get(sm, 'interval'), 100, 3_600_000) ?? DEFAULTS.scriptIntervalMs;
    const toNode = get(sm, 'timeout');
    const timeoutMs = asDuration(ctx, toNode, 100, 3_600_000) ?? DEFAULTS.scriptTimeoutMs;
    if (timeoutMs > intervalMs)
      ctx.error(
        toNode ?? sm,
        `timeout ${formatDuration(timeoutMs)} is longer than interval ${formatDuration(intervalMs)}`,
        toNode ? undefined : childPath(sm.docPath, 'timeout'),
      );
    const rise = asInt(ctx, get(sm, 'rise'), 1, 255) ?? DEFAULTS.scriptRise;
    const fall = asInt(ctx, get(sm, 'fall'), 1, 255) ?? DEFAULTS.scriptFall;
    const weight = asWeight(ctx, get(sm, 'weight'));
    if (run === undefined) continue;
    scripts.push({ run, intervalMs, timeoutMs, rise, fall, ...(weight !== undefined ? { weight } : {}) });
  }
  return { interfaces, scripts };
}

// ---- clusters (issue #13, docs/cluster.md) ---------------------------------------------------

export const CLUSTER_KEYS = [
  'name',
  'interface',
  'id',
  'addresses',
  'buckets',
  'hash',
  'weight',
  'advert_interval',
  'preempt_delay',
  'drain_timeout',
  'mac_mode',
  'mode',
  'return_path',
  'state_sync',
  'track',
] as const;
export const CLUSTER_RETURN_PATH_KEYS = ['interface', 'addresses'] as const;
export const CLUSTER_STATE_SYNC_KEYS = [
  'interface',
  'local',
  'group',
  'port',
  'conntrackd',
  'control_timeout',
] as const;
const CLUSTER_DEFAULTS = { buckets: 64, weight: 100, advertIntervalMs: 100, drainTimeoutMs: 60_000 };

function validateClusters(
  ctx: Ctx,
  n: LNode | undefined,
  board: BoardInfo | undefined,
  instances: InstanceDraft[],
): ClusterConfig[] {
  const out: ClusterConfig[] = [];
  if (!n) return out;
  const seq = asSeq(ctx, n);
  if (seq && seq.items.length === 0) ctx.error(seq, 'needs at least one cluster (or remove clusters)');
  const vips = new Map<string, string>();
  for (const d of instances) for (const a of d.cfg.addresses) vips.set(a.address, d.cfg.name);
  const names = new Map<string, number>();
  const wire = new Map<string, string>();
  const taken = new Map<string, string>();
  for (const item of seq?.items ?? []) {
    const m = asMap(ctx, item);
    if (!m) continue;
    checkKeys(ctx, m, CLUSTER_KEYS);
    const nameNode = get(m, 'name');
    if (!nameNode) missing(ctx, m, 'name');
    let name = asString(ctx, nameNode);
    if (name !== undefined && !NAME_RE.test(name)) {
      ctx.error(nameNode!, `"${name}" must be 1..32 characters of A-Z a-z 0-9 _ . -`);
      name = undefined;
    }
    if (name !== undefined && names.has(name)) {
      ctx.error(nameNode!, `duplicate cluster name ${name} (first at line ${names.get(name)})`);
      name = undefined;
    } else if (name !== undefined) names.set(name, m.line);
    const ifNode = get(m, 'interface');
    if (!ifNode) missing(ctx, m, 'interface');
    const iface = resolveInterface(ctx, ifNode, board);
    const idNode = get(m, 'id');
    if (!idNode) missing(ctx, m, 'id');
    const id = asInt(ctx, idNode, 1, 255);
    if (id !== undefined && iface !== undefined) {
      const key = `${iface}/${id}`;
      const first = wire.get(key);
      if (first) ctx.error(idNode!, `cluster id ${id} on ${iface} is already used by cluster ${first}`);
      else wire.set(key, name ?? '?');
    }
    const addresses = clusterAddresses(ctx, m, name, vips, taken);
    const mode = asEnum(ctx, get(m, 'mode'), ['local', 'forward'] as const) ?? 'local';
    const hashNode = get(m, 'hash');
    const hash = asEnum(ctx, hashNode, ['source', 'source-dest'] as const) ?? 'source';
    const rpNode = get(m, 'return_path');
    const ssNode = get(m, 'state_sync');
    let returnPath: ClusterConfig['returnPath'];
    let stateSync: ClusterConfig['stateSync'];
    if (mode === 'forward') {
      if (ctx.env.platform !== 'linux')
        ctx.error(get(m, 'mode')!, `forward mode uses the Linux data path (nftables); not on ${ctx.env.platform}`);
      if (hash !== 'source')
        ctx.error(hashNode!, 'forward mode hashes the client: the source here, the destination on the return path');
      for (const a of addresses)
        if (a.address.includes(':'))
          ctx.error(get(m, 'addresses')!, `${a.address}: forward mode is IPv4 only (IPv6 forwarding is not built yet)`);
      const rp = asMap(ctx, rpNode);
      if (!rpNode) missing(ctx, m, 'return_path');
      if (rp) {
        checkKeys(ctx, rp, CLUSTER_RETURN_PATH_KEYS);
        if (!get(rp, 'interface')) missing(ctx, rp, 'interface');
        const rif = resolveInterface(ctx, get(rp, 'interface'), board);
        if (rif !== undefined && rif === iface)
          ctx.error(get(rp, 'interface')!, `the return path must be another interface than ${iface}`);
        const raddrs = clusterAddresses(ctx, rp, name, vips, taken);
        for (const a of raddrs)
          if (a.address.includes(':')) ctx.error(get(rp, 'addresses')!, `${a.address}: forward mode is IPv4 only`);
        if (rif !== undefined) returnPath = { interface: rif, addresses: raddrs };
      }
      const ss = asMap(ctx, ssNode);
      if (ss) stateSync = validateClusterStateSync(ctx, ss, board);
    } else {
      for (const [k, n] of [
        ['return_path', rpNode],
        ['state_sync', ssNode],
      ] as const)
        if (n)
          ctx.error(
            n,
            k === 'state_sync'
              ? 'state_sync needs mode: forward: in local mode the connections end in sockets on the dead node, which no table can move'
              : 'return_path needs mode: forward',
          );
    }
    const cfg: ClusterConfig = {
      name: name ?? '',
      interface: iface ?? '',
      id: id ?? 0,
      addresses,
      buckets: asInt(ctx, get(m, 'buckets'), 1, 1024) ?? CLUSTER_DEFAULTS.buckets,
      hash,
      weight: asInt(ctx, get(m, 'weight'), 0, 65535) ?? CLUSTER_DEFAULTS.weight,
      advertIntervalMs: asDuration(ctx, get(m, 'advert_interval'), 10, 65_535) ?? CLUSTER_DEFAULTS.advertIntervalMs,
      preemptDelayMs: asDuration(ctx, get(m, 'preempt_delay'), 0, 3_600_000) ?? 0,
      drainTimeoutMs: asDuration(ctx, get(m, 'drain_timeout'), 0, 86_400_000) ?? CLUSTER_DEFAULTS.drainTimeoutMs,
      macMode: asEnum(ctx, get(m, 'mac_mode'), ['multicast', 'igmp', 'unicast'] as const) ?? 'multicast',
      mode,
      ...(returnPath ? { returnPath } : {}),
      ...(stateSync ? { stateSync } : {}),
      track: validateTrack(ctx, asMap(ctx, get(m, 'track')), board),
      line: m.line,
    };
    out.push(cfg);
  }
  return out;
}

/** A cluster's (or its return path's) `addresses`: routable, unique across instances and clusters. */
function clusterAddresses(
  ctx: Ctx,
  m: MapNode,
  name: string | undefined,
  vips: Map<string, string>,
  taken: Map<string, string>,
): VirtualAddress[] {
  const addrNode = get(m, 'addresses');
  if (!addrNode) missing(ctx, m, 'addresses');
  const addresses: VirtualAddress[] = [];
  const addrSeq = asSeq(ctx, addrNode);
  if (addrSeq && addrSeq.items.length === 0) ctx.error(addrSeq, 'needs at least one address');
  for (const a of addrSeq?.items ?? []) {
    const ip = asPrefixed(ctx, a);
    if (!ip) continue;
    if (ip.family === 6 && isLinkLocalV6(ip.bytes)) {
      ctx.error(a, `${ip.address} is link-local: a cluster serves routable addresses`);
      continue;
    }
    const inst = vips.get(ip.address);
    const other = taken.get(ip.address);
    if (inst) ctx.error(a, `${ip.address} is also an address of instance ${inst}`);
    else if (other) ctx.error(a, `${ip.address} is already an address of cluster ${other}`);
    else if (addresses.some((x) => x.address === ip.address)) ctx.error(a, `${ip.address} is listed twice`);
    else {
      addresses.push({ address: ip.address, prefixLength: ip.prefixLength });
      taken.set(ip.address, name ?? '?');
    }
  }
  return addresses;
}

/** A forward cluster's state_sync: conntrackd among every node, multicast on the sync link. */
function validateClusterStateSync(ctx: Ctx, m: MapNode, board: BoardInfo | undefined): ClusterConfig['stateSync'] {
  const before = ctx.errors.length;
  checkKeys(ctx, m, CLUSTER_STATE_SYNC_KEYS);
  const ifNode = get(m, 'interface');
  if (!ifNode) missing(ctx, m, 'interface');
  const iface = resolveInterface(ctx, ifNode, board);
  const localNode = get(m, 'local');
  if (!localNode) missing(ctx, m, 'local');
  const local = asIp(ctx, localNode);
  if (local && local.family !== 4) ctx.error(localNode!, `${local.address}: the cluster sync link is IPv4 (multicast)`);
  const groupNode = get(m, 'group');
  const group = asIp(ctx, groupNode);
  if (group && (group.family !== 4 || group.bytes[0] < 224 || group.bytes[0] > 239))
    ctx.error(groupNode!, `${group.address} is not an IPv4 multicast group (224.0.0.0/4)`);
  const conntrackdNode = get(m, 'conntrackd');
  const conntrackd = asAbsPath(ctx, conntrackdNode) ?? '/usr/sbin/conntrackd';
  probeWarn(ctx, conntrackdNode ?? m, conntrackd, 'exec');
  const port = asInt(ctx, get(m, 'port'), 1, 65535) ?? 3780;
  const controlTimeoutMs = asDuration(ctx, get(m, 'control_timeout'), 100, 60_000) ?? 5_000;
  if (ctx.errors.length !== before || iface === undefined || !local) return undefined;
  return {
    interface: iface,
    local: local.address,
    group: group?.address ?? '225.0.0.50',
    port,
    conntrackd,
    controlTimeoutMs,
  };
}

// ---- the rest of the file ----------------------------------------------------------------------

function validateMqtt(ctx: Ctx, m: MapNode, node: string): MqttConfig | undefined {
  checkKeys(ctx, m, MQTT_KEYS);
  const urlNode = get(m, 'url');
  let url: string | undefined;
  if (!urlNode) missing(ctx, m, 'url');
  const u = asString(ctx, urlNode, 'a URL');
  if (u !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(u);
    } catch {
      ctx.error(urlNode!, `"${u}" is not a URL`);
    }
    if (parsed) {
      const scheme = parsed.protocol.replace(/:$/, '');
      // mqtt+unix:///run/broker.sock (MQTT.js's unix-socket form) serves a broker on this host.
      if (!['mqtt', 'mqtts', 'ws', 'wss', 'mqtt+unix'].includes(scheme))
        ctx.error(urlNode!, `scheme must be mqtt, mqtts, ws, wss or mqtt+unix, got ${scheme}`);
      else if (scheme === 'mqtt+unix' ? !parsed.pathname || parsed.pathname === '/' : !parsed.hostname)
        ctx.error(urlNode!, `"${u}" names no ${scheme === 'mqtt+unix' ? 'socket path' : 'host'}`);
      else url = u;
    }
  }
  const clientIdNode = get(m, 'client_id');
  const clientId = asString(ctx, clientIdNode) ?? `tandem-${node}`;
  if (clientIdNode && clientId === '') ctx.error(clientIdNode, 'must not be empty');
  const username = asString(ctx, get(m, 'username'));
  const files: Partial<Record<'passwordFile' | 'ca' | 'cert' | 'key', string>> = {};
  for (const [yamlKey, tsKey] of [
    ['password_file', 'passwordFile'],
    ['ca', 'ca'],
    ['cert', 'cert'],
    ['key', 'key'],
  ] as const) {
    const n = get(m, yamlKey);
    const p = asAbsPath(ctx, n);
    probeWarn(ctx, n, p, 'read');
    if (p !== undefined) files[tsKey] = p;
  }
  if ((get(m, 'cert') === undefined) !== (get(m, 'key') === undefined)) {
    const n = get(m, 'cert') ?? get(m, 'key')!;
    ctx.error(n, 'cert and key go together: set both or neither');
  }
  const tpNode = get(m, 'topic_prefix');
  let topicPrefix = asString(ctx, tpNode) ?? DEFAULTS.topicPrefix;
  if (tpNode && (!/^[^#+/\0][^#+\0]*$/.test(topicPrefix) || topicPrefix.endsWith('/'))) {
    ctx.error(tpNode, `"${topicPrefix}" must be non-empty, without + or #, and not start or end with /`);
    topicPrefix = DEFAULTS.topicPrefix;
  }
  const healthIntervalMs = asDuration(ctx, get(m, 'health_interval'), 1000, 3_600_000) ?? DEFAULTS.healthIntervalMs;
  const protocolVersion = asEnum(ctx, get(m, 'protocol_version'), [4, 5] as const) ?? DEFAULTS.protocolVersion;
  const offlineQueue = asInt(ctx, get(m, 'offline_queue'), 0, 1_000_000) ?? DEFAULTS.offlineQueue;
  const cmdMap = asMap(ctx, get(m, 'commands'));
  const commands = cmdMap ? validateMqttCommands(ctx, cmdMap, urlNode, url) : undefined;
  if (url === undefined) return undefined;
  return {
    url,
    clientId,
    ...(username !== undefined ? { username } : {}),
    ...files,
    topicPrefix,
    healthIntervalMs,
    protocolVersion,
    offlineQueue,
    ...(commands ? { commands } : {}),
  };
}

/** Commands a node executes: read-only ones, plus the mutating ones only when listed. */
const MQTT_COMMAND_NAMES = ['status', 'set-priority', 'maintenance', 'reload', 'ota'] as const;
const MUTATING_COMMANDS = new Set(['set-priority', 'maintenance', 'reload', 'ota']);

function validateMqttCommands(
  ctx: Ctx,
  m: MapNode,
  urlNode: LNode | undefined,
  url: string | undefined,
): MqttCommandsConfig {
  checkKeys(ctx, m, ['allow', 'trusted_keys', 'replay_window']);
  const allow: string[] = [];
  const allowNode = get(m, 'allow');
  for (const item of seqItems(ctx, allowNode)) {
    const name = asEnum(ctx, item, MQTT_COMMAND_NAMES);
    if (name !== undefined && !allow.includes(name)) allow.push(name);
  }
  if (!allowNode) allow.push('status');
  const trustedKeys: string[] = [];
  for (const item of seqItems(ctx, get(m, 'trusted_keys'))) {
    const p = asAbsPath(ctx, item);
    probeWarn(ctx, item, p, 'read');
    if (p !== undefined) trustedKeys.push(p);
  }
  const replayWindowMs = asDuration(ctx, get(m, 'replay_window'), 1_000, 3_600_000) ?? 60_000;
  // A broker link without TLS carries commands in clear text, and anyone on the path can inject them.
  const plain = url !== undefined && /^(mqtt|ws):/i.test(url);
  if (plain && allow.some((c) => MUTATING_COMMANDS.has(c)))
    ctx.warn(
      urlNode ?? m,
      `commands that change this node (${allow.filter((c) => MUTATING_COMMANDS.has(c)).join(', ')}) are allowed over plain ${url!.split(':')[0]}:// (no TLS)${trustedKeys.length ? '' : ' and unsigned'}: use mqtts:// or wss:// (docs/security.md)`,
    );
  return { allow, trustedKeys, replayWindowMs };
}

function validateOta(ctx: Ctx, m: MapNode | undefined): OtaConfig {
  if (m) checkKeys(ctx, m, OTA_KEYS);
  const trustedKeys: string[] = [];
  for (const item of seqItems(ctx, get(m, 'trusted_keys'))) {
    const p = asAbsPath(ctx, item);
    probeWarn(ctx, item, p, 'read');
    if (p !== undefined) trustedKeys.push(p);
  }
  let remoteHosts: string[] | undefined;
  const hostsNode = get(m, 'remote_hosts');
  if (hostsNode) {
    remoteHosts = [];
    for (const item of seqItems(ctx, hostsNode)) {
      const h = asString(ctx, item, 'a host name');
      if (h === undefined) continue;
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(h) && !parseIp(h.replace(/^\[|\]$/g, '')).ok)
        ctx.error(item, `"${h}" is not a host name or address`);
      else remoteHosts.push(h.replace(/^\[|\]$/g, '').toLowerCase());
    }
  }
  const remoteAllowHttp = asBool(ctx, get(m, 'remote_allow_http'));
  return {
    root: asAbsPath(ctx, get(m, 'root')) ?? platformDefaults(ctx.env.platform).otaRoot,
    trustedKeys,
    healthDeadlineMs: asDuration(ctx, get(m, 'health_deadline'), 1_000, 3_600_000) ?? DEFAULTS.healthDeadlineMs,
    allowDowngrade: asBool(ctx, get(m, 'allow_downgrade')) ?? false,
    ...(remoteHosts ? { remoteHosts } : {}),
    ...(remoteAllowHttp !== undefined ? { remoteAllowHttp } : {}),
  };
}

function validateSyncGroups(ctx: Ctx, n: LNode | undefined, instances: InstanceDraft[]): SyncGroupConfig[] {
  const out: SyncGroupConfig[] = [];
  const known = new Set(instances.map((i) => i.cfg.name).filter((x) => x));
  const member = new Map<string, string>(); // instance -> group
  for (const item of seqItems(ctx, n)) {
    const m = asMap(ctx, item);
    if (!m) continue;
    checkKeys(ctx, m, ['name', 'instances']);
    const nameNode = get(m, 'name');
    if (!nameNode) missing(ctx, m, 'name');
    let name = asString(ctx, nameNode);
    if (name !== undefined && !NAME_RE.test(name)) {
      ctx.error(nameNode!, `"${name}" must be 1..32 characters of A-Z a-z 0-9 _ . -`);
      name = undefined;
    }
    if (name !== undefined && out.some((g) => g.name === name)) {
      ctx.error(nameNode!, `sync group ${name} is defined twice`);
      name = undefined;
    }
    const listNode = get(m, 'instances');
    if (!listNode) missing(ctx, m, 'instances');
    const members: string[] = [];
    const list = asSeq(ctx, listNode);
    if (list && list.items.length === 0) ctx.error(list, 'needs at least one instance');
    for (const it of list?.items ?? []) {
      const inst = asString(ctx, it, 'an instance name');
      if (inst === undefined) continue;
      if (!known.has(inst)) {
        const hint = closest(inst, [...known]);
        ctx.error(it, `no instance named ${inst}${hint ? ` (did you mean ${hint}?)` : ''}`);
        continue;
      }
      if (members.includes(inst)) {
        ctx.error(it, `${inst} is listed twice`);
        continue;
      }
      const other = member.get(inst);
      if (other !== undefined) {
        ctx.error(it, `${inst} is already in sync group ${other}: an instance belongs to at most one group`);
        continue;
      }
      member.set(inst, name ?? '?');
      members.push(inst);
    }
    if (name !== undefined) out.push({ name, instances: members });
  }
  return out;
}

// ---- state_sync (conntrackd, docs/state-sync.md) ----------------------------------------------

export const STATE_SYNC_KEYS = [
  'follows',
  'interface',
  'peer',
  'local',
  'port',
  'socket',
  'conntrackd',
  'resync_timeout',
  'stall_after',
  'stall_penalty',
  'control_timeout',
] as const;

function validateStateSync(
  ctx: Ctx,
  m: MapNode,
  instances: InstanceDraft[],
  groups: SyncGroupConfig[],
  board: BoardInfo | undefined,
): StateSyncConfig | undefined {
  const before = ctx.errors.length;
  checkKeys(ctx, m, STATE_SYNC_KEYS);
  if (ctx.env.platform !== 'linux')
    ctx.error(m, `state_sync replicates Linux connection tracking through conntrackd; not on ${ctx.env.platform}`);
  const followsNode = get(m, 'follows');
  if (!followsNode) missing(ctx, m, 'follows');
  const followsName = asString(ctx, followsNode, 'an instance or sync group name');
  let follows: StateSyncConfig['follows'] | undefined;
  let members: string[] = [];
  if (followsName !== undefined) {
    const group = groups.find((g) => g.name === followsName);
    const inst = instances.find((d) => d.cfg.name === followsName);
    if (group) {
      follows = { syncGroup: followsName };
      members = group.instances;
    } else if (inst) {
      follows = { instance: followsName };
      members = [followsName];
    } else {
      const hint = closest(followsName, [...groups.map((g) => g.name), ...instances.map((d) => d.cfg.name)]);
      ctx.error(
        followsNode!,
        `no instance or sync group named ${followsName}${hint ? ` (did you mean ${hint}?)` : ''}`,
      );
    }
  }
  for (const name of members) {
    const d = instances.find((x) => x.cfg.name === name);
    // RFC 5798 6.1: the address owner always preempts, so its takeover could not wait for the resync.
    if (d && d.cfg.priority === 255)
      ctx.error(
        followsNode!,
        `instance ${name} has priority 255 (address owner), which always preempts (RFC 5798 6.1): state_sync could not hold it back until the resync; use 254 or lower`,
      );
  }
  const socketNode = get(m, 'socket');
  const socket = asAbsPath(ctx, socketNode);
  const ifNode = get(m, 'interface');
  const iface = resolveInterface(ctx, ifNode, board);
  const peerNode = get(m, 'peer');
  const localNode = get(m, 'local');
  const peer = asIp(ctx, peerNode);
  const local = asIp(ctx, localNode);
  if (socketNode) {
    for (const [k, n] of [
      ['interface', ifNode],
      ['peer', peerNode],
      ['local', localNode],
      ['port', get(m, 'port')],
    ] as const)
      if (n)
        ctx.error(
          n,
          `${k} belongs in the operator's own conntrackd.conf: with socket, tandem drives that conntrackd and writes no configuration`,
        );
  } else {
    if (!ifNode) missing(ctx, m, 'interface');
    if (!peerNode) missing(ctx, m, 'peer');
    if (!localNode) missing(ctx, m, 'local');
    if (peer && local && peer.family !== local.family)
      ctx.error(peerNode!, `peer ${peer.address} and local ${local.address} must be of the same address family`);
    if (peer && local && peer.address === local.address)
      ctx.error(peerNode!, `peer and local are the same address (${peer.address})`);
  }
  const conntrackdNode = get(m, 'conntrackd');
  const conntrackd = asAbsPath(ctx, conntrackdNode) ?? '/usr/sbin/conntrackd';
  probeWarn(ctx, conntrackdNode ?? m, conntrackd, 'exec');
  const resyncTimeoutMs = asDuration(ctx, get(m, 'resync_timeout'), 1_000, 600_000) ?? 30_000;
  const stallAfterMs = asDuration(ctx, get(m, 'stall_after'), 1_000, 600_000) ?? 5_000;
  const controlTimeoutMs = asDuration(ctx, get(m, 'control_timeout'), 100, 60_000) ?? 5_000;
  const stallPenalty = asInt(ctx, get(m, 'stall_penalty'), 1, 254);
  const port = asInt(ctx, get(m, 'port'), 1, 65535) ?? 3780;
  if (ctx.errors.length !== before || !follows) return undefined;
  return {
    follows,
    instances: members,
    ...(socket !== undefined ? { socket } : { interface: iface, peer: peer?.address, local: local?.address }),
    port,
    conntrackd,
    resyncTimeoutMs,
    stallAfterMs,
    ...(stallPenalty !== undefined ? { stallPenalty } : {}),
    controlTimeoutMs,
    line: m.line,
  };
}

export interface ValidateInput {
  root: LNode; // the merged tree (board defaults under the site file)
  file: string; // the site file, as named by the caller
  board?: BoardInfo;
}

export function validateTree(
  input: ValidateInput,
  env: ConfigEnv,
): { config?: TandemConfig; errors: ConfigIssue[]; warnings: ConfigIssue[] } {
  const ctx = new Ctx(env);
  const { root, file, board } = input;
  const top = asMap(ctx, root);
  if (!top) return { errors: ctx.errors, warnings: ctx.warnings };
  checkKeys(ctx, top, TOP_KEYS);

  const nodeNode = get(top, 'node');
  let node = asString(ctx, nodeNode) ?? env.hostname;
  if (!NODE_RE.test(node)) {
    ctx.error(
      nodeNode ?? top,
      nodeNode
        ? `"${node}" must be 1..64 characters of A-Z a-z 0-9 _ . -`
        : `the hostname "${node}" is not a usable node name: set node`,
      nodeNode ? undefined : 'node',
    );
    node = 'invalid';
  }
  const stateDir = asAbsPath(ctx, get(top, 'state_dir')) ?? platformDefaults(ctx.env.platform).stateDir;
  const controlMap = asMap(ctx, get(top, 'control'));
  if (controlMap) checkKeys(ctx, controlMap, ['socket']);
  const socket = asAbsPath(ctx, get(controlMap, 'socket')) ?? platformDefaults(ctx.env.platform).socket;
  const logMap = asMap(ctx, get(top, 'log'));
  if (logMap) checkKeys(ctx, logMap, ['level']);
  const level =
    asEnum(ctx, get(logMap, 'level'), ['trace', 'debug', 'info', 'warn', 'error'] as const) ?? DEFAULTS.logLevel;
  const schedMap = asMap(ctx, get(top, 'scheduling'));
  if (schedMap) checkKeys(ctx, schedMap, ['nice', 'realtime_priority']);
  const scheduling = {
    nice: asInt(ctx, get(schedMap, 'nice'), -20, 19) ?? DEFAULTS.nice,
    realtimePriority:
      asInt(ctx, get(schedMap, 'realtime_priority'), 0, 99) ?? platformDefaults(ctx.env.platform).realtimePriority,
  };

  // instance_defaults sit under every instance; the instance's own keys win.
  const defaultsNode = get(top, 'instance_defaults');
  const defaults = asMap(ctx, defaultsNode);
  if (defaults) {
    checkKeys(
      ctx,
      defaults,
      INSTANCE_KEYS.filter((k) => k !== 'name' && k !== 'vrid' && k !== 'vhid'),
      {
        name: 'an instance name cannot have a default',
        vrid: 'a VRID cannot have a default',
        vhid: 'a VHID cannot have a default',
      },
    );
  }

  const instNode = get(top, 'instances');
  const drafts: InstanceDraft[] = [];
  const instSeq = asSeq(ctx, instNode);
  if (!instNode && !get(top, 'clusters')) ctx.error(top, 'missing (required): at least one instance', 'instances');
  else if (instSeq && instSeq.items.length === 0) ctx.error(instSeq, 'needs at least one instance');
  for (const item of instSeq?.items ?? []) {
    const m = asMap(ctx, item);
    if (!m) continue;
    drafts.push(validateInstance(ctx, defaults ? mergeUnder(defaults, m) : m, board));
  }

  // Names are unique; VRID + interface + family identify a virtual router on the wire (RFC 5798 5.2.3).
  const byName = new Map<string, InstanceDraft>();
  const byRouter = new Map<string, InstanceDraft>();
  for (const d of drafts) {
    const { name, vrid, interface: iface, family } = d.cfg;
    if (name) {
      const first = byName.get(name);
      if (first) ctx.error(d.nameNode!, `duplicate instance name ${name} (first at line ${first.node.line})`);
      else byName.set(name, d);
    }
    if (d.cfg.protocol === 'hsrp' && iface) {
      // HSRP groups are numbered apart from VRIDs, per version and family (their MACs differ).
      const key = `hsrp${d.cfg.hsrp?.version}/${vrid}/${iface}/${family}`;
      const first = byRouter.get(key);
      if (first)
        ctx.error(
          get(d.node, 'group') ?? d.node,
          `HSRPv${d.cfg.hsrp?.version} group ${vrid} on ${iface} (IPv${family}) is already used by instance ${first.cfg.name || '?'} at line ${first.node.line}`,
        );
      else byRouter.set(key, d);
    } else if (vrid && iface && d.cfg.addresses.length) {
      // CARP's MAC is 00:00:5e:00:01:<vhid> for both families: the IPv4 VRRP MAC of that number.
      const carp = d.cfg.protocol === 'carp';
      const key = `${vrid}/${iface}/${carp ? 4 : family}`;
      const first = byRouter.get(key);
      const at = get(d.node, carp ? 'vhid' : 'vrid') ?? d.node;
      const what = (c: InstanceConfig) => (c.protocol === 'carp' ? 'VHID' : 'VRID');
      if (first)
        ctx.error(
          at,
          `${what(d.cfg)} ${vrid} on ${iface} (IPv${family}) is already used by instance ${first.cfg.name || '?'} at line ${first.node.line}` +
            (carp || first.cfg.protocol === 'carp'
              ? ` (${what(first.cfg)} ${vrid}): both would use MAC 00:00:5e:00:01:${vrid.toString(16).padStart(2, '0')}`
              : ''),
        );
      else byRouter.set(key, d);
    }
  }

  const syncGroups = validateSyncGroups(ctx, get(top, 'sync_groups'), drafts);
  const stateSyncMap = asMap(ctx, get(top, 'state_sync'));
  const stateSync = stateSyncMap ? validateStateSync(ctx, stateSyncMap, drafts, syncGroups, board) : undefined;
  const clusters = validateClusters(ctx, get(top, 'clusters'), board, drafts);
  // One conntrackd per node (one connection table): either the VRRP pair's or one cluster's.
  const syncedClusters = clusters.filter((c) => c.stateSync);
  if (syncedClusters.length > 0 && stateSyncMap)
    ctx.error(
      stateSyncMap,
      `cluster ${syncedClusters[0].name} (line ${syncedClusters[0].line}) already replicates connection tracking: one state_sync per node`,
    );
  else if (syncedClusters.length > 1)
    ctx.error(
      get(top, 'clusters')!,
      `clusters ${syncedClusters.map((c) => c.name).join(' and ')} both have state_sync: one per node (one connection table)`,
    );

  let telemetry: TandemConfig['telemetry'];
  const telMap = asMap(ctx, get(top, 'telemetry'));
  if (telMap) {
    checkKeys(ctx, telMap, ['mqtt']);
    const mqttMap = asMap(ctx, get(telMap, 'mqtt'));
    const mqtt = mqttMap ? validateMqtt(ctx, mqttMap, node) : undefined;
    telemetry = mqtt ? { mqtt } : {};
  }
  const metricsMap = asMap(ctx, get(top, 'metrics'));
  let metrics: MetricsConfig | undefined;
  if (metricsMap) {
    checkKeys(ctx, metricsMap, ['listen']);
    const listenNode = get(metricsMap, 'listen');
    if (!listenNode) missing(ctx, metricsMap, 'listen');
    else metrics = asListen(ctx, listenNode);
  }
  const snmpMap = asMap(ctx, get(top, 'snmp'));
  let snmp: SnmpConfig | undefined;
  if (snmpMap) {
    checkKeys(ctx, snmpMap, ['agentx']);
    const n = get(snmpMap, 'agentx');
    // net-snmp's snmpd listens on /var/agentx/master unless its agentXSocket says otherwise.
    if (!n) snmp = { agentx: { path: DEFAULT_AGENTX } };
    else {
      const text = asString(ctx, n, 'a unix socket path or tcp:HOST:PORT');
      const tcp = text === undefined ? null : /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
      if (text !== undefined && tcp) {
        const port = Number(tcp[3]);
        const ip = parseIp(tcp[1] ?? tcp[2]);
        if (!ip.ok) ctx.error(n, `${ip.reason} (the AgentX master's address)`);
        else if (port < 1 || port > 65535) ctx.error(n, `port must be 1..65535, got ${port}`);
        else snmp = { agentx: { host: ip.address, port } };
      } else if (text !== undefined) {
        const path = asAbsPath(ctx, n);
        if (path !== undefined) snmp = { agentx: { path } };
      }
    }
  }
  const ota = validateOta(ctx, asMap(ctx, get(top, 'ota')));

  const errors = dedupe(ctx.errors);
  const warnings = dedupe(ctx.warnings);
  if (errors.length) return { errors, warnings };
  const config: TandemConfig = {
    file,
    node,
    ...(board ? { board } : {}),
    stateDir,
    control: { socket },
    log: { level },
    scheduling,
    instances: drafts.map((d) => d.cfg),
    syncGroups,
    ...(stateSync ? { stateSync } : {}),
    ...(clusters.length ? { clusters } : {}),
    ...(telemetry ? { telemetry } : {}),
    ...(metrics ? { metrics } : {}),
    ...(snmp ? { snmp } : {}),
    ota,
  };
  return { config, errors, warnings };
}

/** instance_defaults under an instance: like mergeTree, but the instance keeps its own location. */
function mergeUnder(defaults: MapNode, inst: MapNode): MapNode {
  const entries = new Map(defaults.entries);
  for (const [k, v] of inst.entries) {
    const b = entries.get(k);
    entries.set(
      k,
      b && b.value.kind === 'map' && v.value.kind === 'map' ? { key: v.key, value: mergeUnder(b.value, v.value) } : v,
    );
  }
  return { ...inst, entries };
}

/** The same line reached twice (a default shared by several instances) is reported once. */
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.file}\0${i.line}\0${i.path}\0${i.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
