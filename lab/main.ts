// `tandem lab`: the one-command failover demo in network namespaces, and `tandem lab down` to
// remove labs left behind. Run from source by lab/cli.ts (./build.sh lab); not shipped.
import { parseArgs } from 'node:util';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { checkDuration } from '../firmware/config/duration.ts';
import { runDemo, LAB_MAX_ROUTERS, LAB_VIP } from './demo.ts';
import { labDown } from './registry.ts';
import { destroyAllWithPrefix } from './netns.ts';
import { runStateSyncDemo } from './state-sync.ts';

const HELP = `Usage: ./build.sh lab [--advert 100ms] [--routers 2..${LAB_MAX_ROUTERS}] [--peer keepalived|frr|ucarp]
                  [--mqtt URL] [--keep] [--json]
       ./build.sh lab down

Builds a switch, appliances and a client out of network namespaces (192.0.2.0/24 only), runs a
tandem daemon on each appliance (VRRPv3, priorities 200/150/100..., VIP ${LAB_VIP}) and shows
live who is master and whether the client reaches the VIP (1 ms ICMP probes). Then it fails the
master silently, brings it back (preemption), stops it gracefully (handoff) and restarts it,
measuring the client's outage each time, and prints a summary. Everything is removed at the
end, on Ctrl-C, and on errors. Needs root and iproute2.

  --advert D       advertisement interval (VRRPv3: 10ms..40.95s, a multiple of 10 ms; default 100ms)
  --routers N      appliances, 2..${LAB_MAX_ROUTERS} (default 2)
  --peer P         the last appliance runs keepalived or FRR vrrpd instead of tandem (interop);
                   ucarp: every appliance speaks CARP and the last one is ucarp (advert 1s default)
  --mqtt URL       publish telemetry to this broker instead of the embedded one; the daemons run
                   in namespaces, so it must be reachable from there: mqtt+unix:///PATH
  --keep           leave the lab running afterwards, to explore it; Ctrl-C or './build.sh lab down' removes it
  --json           print the summary as one JSON object on stdout (progress goes to stderr)
  --state-sync     instead: a client, a stateful NAT firewall pair and a server; 20 TCP connections
                   and a UDP stream, the master fails silently without and then with conntrackd
                   state sync; prints how many flows each run kept, exit 1 if a synced one was lost
  down             remove every lab left on this machine (its process, namespaces, files)
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      advert: { type: 'string' },
      routers: { type: 'string', default: '2' },
      peer: { type: 'string' },
      mqtt: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'state-sync': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    process.stderr.write(`tandem lab: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const cmd = positionals[0] ?? 'demo';
  if (!['demo', 'down', 'clean'].includes(cmd) || positionals.length > (cmd === 'clean' ? 2 : 1)) {
    process.stderr.write(`tandem lab: unexpected '${positionals.join(' ')}'\n\n${HELP}`);
    return 2;
  }

  const carp = values.peer === 'ucarp';
  const advert = checkDuration(values.advert ?? (carp ? '1s' : '100ms'));
  if (!advert.ok) return usage(`--advert: ${advert.reason}`);
  if (carp && (advert.ms % 1000 !== 0 || advert.ms < 1000 || advert.ms > 254_000))
    return usage('--advert: CARP advertises every advbase whole seconds, 1s..254s');
  if (!carp && (advert.ms < 10 || advert.ms > 40_950 || advert.ms % 10 !== 0))
    return usage('--advert: VRRPv3 needs a multiple of 10 ms, 10ms..40.95s');
  const routers = Number(values.routers);
  if (!Number.isInteger(routers) || routers < 2 || routers > LAB_MAX_ROUTERS)
    return usage(`--routers: 2..${LAB_MAX_ROUTERS}`);
  const peer = values.peer ?? null;
  if (peer !== null && peer !== 'keepalived' && peer !== 'frr' && peer !== 'ucarp')
    return usage('--peer: keepalived, frr or ucarp');
  if (values.mqtt !== undefined && !/^(mqtt|mqtts|ws|wss|mqtt\+unix):\/\//.test(values.mqtt))
    return usage('--mqtt: a URL such as mqtt+unix:///run/mosquitto.sock');

  const need = [
    'ip',
    'bridge',
    ...(cmd === 'demo' ? ['python3'] : []),
    ...(peer === 'keepalived' ? ['keepalived'] : []),
    ...(peer === 'frr' ? ['vtysh'] : []),
    ...(peer === 'ucarp' ? ['ucarp'] : []),
  ];
  if (values['state-sync'] && cmd === 'demo') need.push('conntrackd', 'conntrack', 'nft');
  const problem = preflight(need);
  if (problem) {
    process.stderr.write(`tandem lab: ${problem}\n`);
    return 1;
  }
  if (values['state-sync'] && cmd === 'demo') {
    return runStateSyncDemo({
      json: values.json ?? false,
      progress: values.json ? process.stderr : process.stdout,
      out: process.stdout,
    });
  }

  if (cmd === 'down') {
    const r = await labDown();
    const what = [
      r.signalled.length ? `stopped ${r.signalled.join(' ')}` : '',
      r.deletedNamespaces.length ? `deleted namespaces ${r.deletedNamespaces.join(' ')}` : '',
      r.removedDirs.length ? `removed ${r.removedDirs.join(' ')}` : '',
    ].filter(Boolean);
    process.stdout.write(what.length ? `tandem lab down: ${what.join('; ')}\n` : 'tandem lab down: no lab to remove\n');
    return 0;
  }
  if (cmd === 'clean') {
    // Older form: one prefix, namespaces only.
    const prefix = positionals[1];
    if (!prefix) return usage('clean: PREFIX missing (or use `./build.sh lab down`)');
    const gone = destroyAllWithPrefix(prefix);
    process.stdout.write(gone.length ? `deleted ${gone.join(' ')}\n` : `no namespaces with prefix ${prefix}\n`);
    return 0;
  }
  return runDemo({
    advertMs: advert.ms,
    routers,
    peer,
    mqttUrl: values.mqtt ?? null,
    keep: values.keep ?? false,
    json: values.json ?? false,
    progress: values.json ? process.stderr : process.stdout,
    out: process.stdout,
  });
}

function usage(msg: string): number {
  process.stderr.write(`tandem lab: ${msg}\n`);
  return 2;
}

/** Why the lab cannot run here, or null. */
export function preflight(tools: string[], uid = process.getuid?.(), path = process.env.PATH ?? ''): string | null {
  if (uid !== 0)
    return 'the lab needs root (network namespaces, raw sockets): run it with sudo, e.g. `sudo ./build.sh lab`';
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  const missing = tools.filter(
    (t) =>
      !dirs.some((d) => {
        try {
          accessSync(join(d, t), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  if (missing.length === 0) return null;
  const pkg: Record<string, string> = {
    ip: 'iproute2',
    bridge: 'iproute2',
    python3: 'python3',
    keepalived: 'keepalived',
    vtysh: 'frr',
    nft: 'nftables',
  };
  const pkgs = [...new Set(missing.map((t) => pkg[t] ?? t))];
  return `missing ${missing.join(', ')}: install ${pkgs.join(' ')} (apt-get install ${pkgs.join(' ')})`;
}
