// `tandem status [--json]`: asks the running daemon for its status over the control socket.
import { parseArgs } from 'node:util';
import type { EngineStatus } from '../core/status.ts';
import { request } from '../supervisor/control-socket.ts';
import { socketFrom } from './socket.ts';
import { formatBfdLine } from './bfd-status.ts';

const HELP = `Usage: tandem status [--json] [--socket PATH | --config FILE]
Asks the running daemon for each instance's state, priorities, master and counters, and for
each cluster its members, weights and the buckets this node owns and drains.
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      socket: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const r = await request(socketFrom(values), { cmd: 'status' });
  if (!r.ok) {
    process.stderr.write(`tandem status: ${r.error?.message}\n`);
    return 1;
  }
  const s = r.result as EngineStatus;
  process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
  return 0;
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function formatStatus(s: EngineStatus): string {
  const head = [
    'NAME',
    'IF',
    'VRID',
    'V',
    'STATE',
    'PRIO',
    'EFF',
    'MASTER',
    'IN STATE',
    'SENT',
    'RCVD',
    'TRANS',
    'DROPS',
  ];
  const rows = s.instances.map((i) => [
    i.name,
    i.interface,
    String(i.vrid),
    // CARP has one version on the wire (2); the column says which protocol instead.
    i.protocol === 'carp' ? 'carp' : i.protocol === 'hsrp' ? 'hsrp' : String(i.version),
    (i.hsrpState ?? i.state) + (i.maintenance ? '*' : ''),
    String(i.priority),
    String(i.effectivePriority),
    i.masterIp ?? '-',
    formatDuration(i.timeInStateMs),
    String(i.counters.advertsSent),
    String(i.counters.advertsReceived),
    String(i.counters.transitions),
    Object.entries(i.counters.drops)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '0',
  ]);
  // Configured instances that could not start (a missing or admin-down interface): listed, not hidden.
  for (const u of s.unstarted ?? [])
    rows.push([u.name, u.interface, '-', '-', 'not-started', '-', '-', '-', '-', '-', '-', '-', '-']);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    `${r
      .map((x, c) => x.padEnd(w[c]))
      .join('  ')
      .trimEnd()}\n`;
  let out = `node ${s.node}  tandem ${s.version}  up ${formatDuration(s.uptimeMs)}  loop delay p50 ${s.loopDelay.p50} ms, p99 ${s.loopDelay.p99} ms, max ${s.loopDelay.max} ms\n`;
  out += line(head) + rows.map(line).join('');
  for (const i of s.instances) out += formatBfdLine(i);
  for (const u of s.unstarted ?? [])
    out += `${u.name}: not started: ${u.error} (retried every 2 s, and at once when ${u.interface} comes up)\n`;
  for (const p of s.interfaces) {
    const d = Object.entries(p.drops);
    if (d.length) out += `${p.name}: dropped ${d.map(([k, v]) => `${k}=${v}`).join(', ')}\n`;
  }
  if (s.instances.some((i) => i.maintenance)) out += '* maintenance: handing over and staying backup\n';
  if (s.stateSync) out += formatStateSync(s.stateSync);
  if (s.clusters?.length) out += formatClusters(s.clusters);
  return out;
}

/** Bucket numbers as ranges: 0-3,7,9-10. */
export function bucketRanges(list: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j] + 1) j++;
    out.push(j === i ? String(list[i]) : `${list[i]}-${list[j]}`);
    i = j;
  }
  return out.join(',') || '-';
}

/** Active-active clusters (issue #13): one row each, then their members and buckets. */
export function formatClusters(list: NonNullable<EngineStatus['clusters']>): string {
  let out = '\n';
  for (const c of list) {
    const drops = Object.entries(c.drops).map(([k, v]) => `${k}=${v}`);
    out += `cluster ${c.name} on ${c.interface}  id ${c.id}  mac ${c.mac}  ${c.state}${c.maintenance ? ' (maintenance)' : ''}  weight ${c.weight}/${c.configuredWeight}  buckets ${c.owned.length}/${c.bucketCount}, draining ${c.draining.length}${drops.length ? `  dropped ${drops.join(', ')}` : ''}\n`;
    if (c.error) out += `  error: ${c.error}\n`;
    out += `  owned ${bucketRanges(c.owned)}\n`;
    if (c.draining.length) out += `  draining ${bucketRanges(c.draining)}\n`;
    for (const m of c.members) {
      const notes = [m.self ? 'self' : '', m.joining ? 'joining' : '', m.viewAgrees ? '' : 'view differs'].filter(
        Boolean,
      );
      out += `  member ${m.node.padEnd(16)} weight ${String(m.weight).padStart(5)}  buckets ${String(m.buckets).padStart(4)}  draining ${String(m.draining).padStart(4)}${notes.length ? `  (${notes.join(', ')})` : ''}\n`;
    }
    if (c.dataPath)
      out += `  data path: nft table ${c.dataPath.table}, mac ${c.dataPath.mac}${c.mode === 'forward' ? ', forward mode' : ''}\n`;
    const y = c.stateSync;
    if (y) {
      const n = (v: number | null) => (v === null ? '-' : String(v));
      out += `  state sync: conntrackd ${y.conntrackdPid === null ? 'not running' : `pid ${y.conntrackdPid}`}${y.reachable ? '' : ' (unreachable)'}  caches internal ${n(y.internalCache)} external ${n(y.externalCache)}  commits ${y.commits} (${y.commitFailures} failed)  restarts ${y.restarts}${y.lastError ? `  last error: ${y.lastError}` : ''}\n`;
    }
  }
  return out;
}

/** One line for state_sync (conntrackd), after the instances. */
export function formatStateSync(x: NonNullable<EngineStatus['stateSync']>): string {
  const n = (v: number | null) => (v === null ? '-' : String(v));
  const ago = (t: number | null) => (t === null ? 'never' : `${formatDuration(Date.now() - t)} ago`);
  const link = !x.reachable ? 'conntrackd unreachable' : x.stalled ? 'STALLED' : x.connected ? 'connected' : 'waiting';
  return (
    `state sync (${x.follows}, ${x.mode}): ${x.role ?? '-'}, ${link}${x.preemptHeld ? ', preemption held' : ''}; ` +
    `caches internal ${n(x.internalCache)} external ${n(x.externalCache)}; lost ${n(x.messagesLost)} malformed ${n(x.malformedMessages)}; ` +
    `resync received ${ago(x.lastResyncReceivedUnixMs)}, bulk sent ${ago(x.lastBulkSentUnixMs)}; restarts ${x.restarts}, control failures ${x.controlFailures}` +
    `${x.lastError ? `; last error: ${x.lastError}` : ''}\n`
  );
}
