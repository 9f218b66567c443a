// `tandem status [--json]`: asks the running daemon for its status over the control socket.
import { parseArgs } from 'node:util';
import type { EngineStatus } from '../core/status.ts';
import { request } from '../supervisor/control-socket.ts';
import { socketFrom } from './socket.ts';

const HELP = `Usage: tandem status [--json] [--socket PATH | --config FILE]
Asks the running daemon for each instance's state, priorities, master and counters.
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
    i.protocol === 'carp' ? 'carp' : String(i.version),
    i.state + (i.maintenance ? '*' : ''),
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
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    `${r
      .map((x, c) => x.padEnd(w[c]))
      .join('  ')
      .trimEnd()}\n`;
  let out = `node ${s.node}  tandem ${s.version}  up ${formatDuration(s.uptimeMs)}  loop delay p50 ${s.loopDelay.p50} ms, p99 ${s.loopDelay.p99} ms, max ${s.loopDelay.max} ms\n`;
  out += line(head) + rows.map(line).join('');
  for (const p of s.interfaces) {
    const d = Object.entries(p.drops);
    if (d.length) out += `${p.name}: dropped ${d.map(([k, v]) => `${k}=${v}`).join(', ')}\n`;
  }
  if (s.instances.some((i) => i.maintenance)) out += '* maintenance: handing over and staying backup\n';
  if (s.stateSync) out += formatStateSync(s.stateSync);
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
