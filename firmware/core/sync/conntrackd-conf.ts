// The conntrackd.conf tandem writes for the conntrackd it runs (conntrackd.conf(5)): FTFW over
// UDP on the sync link, the internal and external caches (the external one is on by default:
// DisableExternalCache is not set), and its own lock file and UNIX socket, so that several
// conntrackd (one per network namespace) can run on one host without sharing either.

/** `conntrackd -t` flushes the kernel's stale entries this long after it ran (PurgeTimeout);
 *  a commit (-c) before then cancels the flush. A returning node's hold outlasts it. */
export const PURGE_TIMEOUT_S = 3;

export interface ConntrackdConfInput {
  interface: string;
  local: string;
  peer: string;
  port: number;
  lockFile: string;
  socketPath: string;
  logFile: string;
}

/** A value conntrackd's config lexer takes as one token: no whitespace, braces, quotes or '#'. */
export function isConfToken(v: string): boolean {
  return /^[^\s{}"#;]+$/.test(v);
}

/** A control-only file for an operator-run conntrackd: the client side of `conntrackd -C FILE`
 *  only needs the UNIX socket's path. */
export function renderControlConf(socketPath: string): string {
  return ['General {', '\tUNIX {', `\t\tPath ${socketPath}`, '\t}', '}', ''].join('\n');
}

export function renderConntrackdConf(i: ConntrackdConfInput): string {
  for (const v of [i.interface, i.local, i.peer, i.lockFile, i.socketPath, i.logFile])
    if (!isConfToken(v)) throw new Error(`cannot write ${JSON.stringify(v)} into conntrackd.conf`);
  const v6 = i.local.includes(':');
  const fam = v6 ? 'IPv6' : 'IPv4';
  const loopback = v6 ? '::1' : '127.0.0.1';
  return [
    '# Written by tandem (state_sync); rewritten at every start. Do not edit.',
    'Sync {',
    '\tMode FTFW {',
    '\t\tResendQueueSize 131072',
    `\t\tPurgeTimeout ${PURGE_TIMEOUT_S}`,
    '\t}',
    '\tUDP {',
    `\t\t${fam}_address ${i.local}`,
    `\t\t${fam}_Destination_Address ${i.peer}`,
    `\t\tPort ${i.port}`,
    `\t\tInterface ${i.interface}`,
    '\t\tChecksum on',
    '\t}',
    '}',
    ...generalSection(i, fam, [loopback, i.local, i.peer]),
  ].join('\n');
}

/** The General section: caches, log, lock, control socket; the sync traffic itself is ignored. */
function generalSection(
  i: { lockFile: string; socketPath: string; logFile: string },
  fam: 'IPv4' | 'IPv6',
  ignore: string[],
): string[] {
  return [
    'General {',
    '\tHashSize 32768',
    '\tHashLimit 131072',
    `\tLogFile ${i.logFile}`,
    '\tSyslog off',
    `\tLockFile ${i.lockFile}`,
    '\tUNIX {',
    `\t\tPath ${i.socketPath}`,
    '\t}',
    '\tNetlinkBufferSize 2097152',
    '\tNetlinkBufferSizeMaxGrowth 8388608',
    '\tFilter From Userspace {',
    '\t\tAddress Ignore {',
    // The node's own sync traffic and loopback flows are nobody else's business.
    ...ignore.map((a) => `\t\t\t${fam}_address ${a}`),
    '\t\t}',
    '\t}',
    '}',
    '',
  ];
}

export interface ClusterConntrackdConfInput {
  interface: string;
  local: string; // this node's IPv4 address on the sync link
  group: string; // IPv4 multicast group
  port: number;
  lockFile: string;
  socketPath: string;
  logFile: string;
}

/**
 * An active-active cluster's conntrackd.conf: every node sends its flows to one multicast group
 * on the sync link and keeps everyone else's in its external cache. NOTRACK, not FTFW: FTFW's
 * acknowledgements and resends are a protocol between two peers (conntrackd.conf(5) and the
 * conntrack-tools manual describe it for a pair), and a cluster has N. NOTRACK repeats nothing,
 * so a lost message is lost until the flow's next update: the sync link is a dedicated segment.
 */
export function renderClusterConntrackdConf(i: ClusterConntrackdConfInput): string {
  for (const v of [i.interface, i.local, i.group, i.lockFile, i.socketPath, i.logFile])
    if (!isConfToken(v)) throw new Error(`cannot write ${JSON.stringify(v)} into conntrackd.conf`);
  return [
    "# Written by tandem (a cluster's state_sync); rewritten at every start. Do not edit.",
    'Sync {',
    '\tMode NOTRACK {',
    '\t\tDisableInternalCache off',
    '\t\tDisableExternalCache off',
    '\t}',
    '\tMulticast {',
    `\t\tIPv4_address ${i.group}`,
    `\t\tGroup ${i.port}`,
    `\t\tIPv4_interface ${i.local}`,
    `\t\tInterface ${i.interface}`,
    '\t\tSndSocketBuffer 1249280',
    '\t\tRcvSocketBuffer 1249280',
    '\t\tChecksum on',
    '\t}',
    '}',
    ...generalSection(i, 'IPv4', ['127.0.0.1', i.local]),
  ].join('\n');
}

/** The conntrackd(8) arguments of each control step, after `-C FILE`. */
export const STEP_ARGS = {
  'commit-external': ['-c'],
  'flush-internal': ['-f', 'internal'],
  'resync-kernel': ['-R'],
  'bulk-send': ['-B'],
  'request-resync': ['-n'],
  'shorten-timers': ['-t'],
} as const;
