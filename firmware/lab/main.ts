// `tandem lab`: the one-command failover demo in namespaces, and cleanup after a crashed run.
// Exports main(argv) in the shape firmware/cli.ts expects of a command module.
import { parseArgs } from 'node:util';
import { createLab, destroyAllWithPrefix, waitFor } from './netns.ts';
import { startKeepalived, startFrr } from './peers.ts';
import type { PeerHandle } from './peers.ts';
import { startProber } from './prober.ts';

const HELP = `Usage: tandem lab [demo] [--advert-ms N] [--backup keepalived|frr] [--keep]
       tandem lab clean PREFIX

demo   (default) two routers and a client in network namespaces; keepalived is master, the
       backup is keepalived or FRR vrrpd; the master's bridge port is disabled (a silent
       failure) and the client's 1 ms prober reports the outage. Needs root.
clean  delete the namespaces of a lab with PREFIX (printed by demo) after a crashed run.
`;

const VIP = '192.0.2.1';
const VRID = 51;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'advert-ms': { type: 'string', default: '100' },
      backup: { type: 'string', default: 'keepalived' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) { process.stdout.write(HELP); return 0; }
  const cmd = positionals[0] ?? 'demo';
  if (cmd === 'clean') {
    const prefix = positionals[1];
    if (!prefix) { process.stderr.write(HELP); return 2; }
    const gone = destroyAllWithPrefix(prefix);
    process.stdout.write(gone.length ? `deleted ${gone.join(' ')}\n` : `no namespaces with prefix ${prefix}\n`);
    return 0;
  }
  if (cmd !== 'demo') { process.stderr.write(HELP); return 2; }
  const advertIntervalMs = Number(values['advert-ms']);
  if (!Number.isFinite(advertIntervalMs) || advertIntervalMs < 10 || advertIntervalMs > 40_950) {
    process.stderr.write('--advert-ms: 10..40950\n');
    return 2;
  }
  const backupKind = values.backup;
  if (backupKind !== 'keepalived' && backupKind !== 'frr') { process.stderr.write('--backup: keepalived or frr\n'); return 2; }
  return demo(advertIntervalMs, backupKind, values.keep ?? false);
}

async function demo(advertIntervalMs: number, backupKind: 'keepalived' | 'frr', keep: boolean): Promise<number> {
  const say = (s: string) => process.stdout.write(`[lab] ${s}\n`);
  const lab = await createLab({ routers: 2, clients: 1 });
  say(`lab ${lab.name}: switch ${lab.switchNs}, routers ${lab.routers.map((r) => `${r.ns} ${r.ipv4}`).join(', ')}, client ${lab.clients[0].ns}`);
  const peers: PeerHandle[] = [];
  try {
    const common = { ifname: 'eth0', vrid: VRID, version: 3 as const, advertIntervalMs, addresses: [VIP] };
    const master = await startKeepalived(lab, lab.routers[0].ns, { ...common, priority: 200 });
    peers.push(master);
    const backup = backupKind === 'frr'
      ? await startFrr(lab, lab.routers[1].ns, { ...common, priority: 100 })
      : await startKeepalived(lab, lab.routers[1].ns, { ...common, priority: 100 });
    peers.push(backup);
    const settleMs = 5 * advertIntervalMs + 5000;
    if (!await waitFor(async () => (await master.state()) === 'MASTER' && (await backup.state()) === 'BACKUP', settleMs, 50)) {
      say(`no election within ${settleMs} ms: master ${await master.state()}, backup ${await backup.state()}`);
      return 1;
    }
    say(`VRRPv3 VRID ${VRID} at ${advertIntervalMs} ms: ${lab.routers[0].ns} MASTER (keepalived), ${lab.routers[1].ns} BACKUP (${backupKind})`);
    const prober = startProber(lab, lab.clients[0].ns, VIP);
    await prober.ready;
    if (!await waitFor(() => prober.received() >= 100, 5000)) { say('the client cannot reach the VIP'); await prober.stop(); return 1; }
    say(`client pings ${VIP} every 1 ms; disabling ${lab.routers[0].ns}'s bridge port (silent failure)`);
    const t0 = Date.now();
    await lab.linkDown(lab.routers[0]);
    const took = await waitFor(async () => (await backup.state()) === 'MASTER', 20 * advertIntervalMs + 5000, 5);
    const tookMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, Math.max(500, 2 * advertIntervalMs)));
    const rep = await prober.stop();
    say(took ? `backup became MASTER after ~${tookMs} ms` : 'backup did not become MASTER');
    say(`prober: ${rep.sent} sent, ${rep.received} received, ${rep.lost} lost, ${(rep.sent / (rep.durationMs / 1000)).toFixed(0)} requests/s`);
    for (const o of rep.outages) say(`  outage at ${new Date(o.startMs).toISOString()}: ${o.lengthMs.toFixed(1)} ms (${o.lostPackets} requests)`);
    say(`longest outage ${rep.longestOutageMs.toFixed(1)} ms = ${(rep.longestOutageMs / advertIntervalMs).toFixed(2)} advert intervals`);
    if (keep) {
      say(`--keep: lab left running; Ctrl-C tears it down (or: tandem lab clean ${lab.name})`);
      await new Promise(() => { /* until a signal; the exit hook cleans up */ });
    }
    return took ? 0 : 1;
  } finally {
    for (const p of peers) await p.stop().catch(() => undefined);
    await lab.destroy();
  }
}
