// The active-active cluster numbers of `./build.sh bench` (phase `cluster`, issue #13):
// - the outage of the clients whose buckets moved when one of N nodes fails silently, against the
//   bound the engine is held to (3 x advert interval + interval/4, the VRRP-style bound);
// - the share of clients that see any outage at all (about 1/N; active-backup VRRP: all of them
//   when the master dies);
// - planned changes (return, graceful stop, restart): clients affected and resets (zero);
// - the time of one bucket move in the data path (one libnftables transaction), measured directly
//   on a node with the test kit's node agent (test/kit/cluster-node.ts).
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runClusterScenario, CLUSTER_DEMO_DEFAULTS, type ClusterStep } from '../lab/cluster-demo.ts';
import { createLab } from '../lab/netns.ts';
import { quantile, type ClusterBenchResult, type ClusterBenchRun } from './cluster-report.ts';

const NODE_AGENT = fileURLToPath(new URL('../test/kit/cluster-node.ts', import.meta.url));

export async function clusterBench(
  o: { nodes: number[]; intervals: number[]; moves: number },
  log: (...a: unknown[]) => void,
): Promise<ClusterBenchResult> {
  const runs: ClusterBenchRun[] = [];
  for (const nodes of o.nodes) {
    for (const advertMs of o.intervals) {
      try {
        const s = await runClusterScenario(
          {
            nodes,
            advertMs,
            ...CLUSTER_DEMO_DEFAULTS,
            json: true,
            progress: process.stderr,
            out: process.stdout,
          },
          (line) => log(`cluster ${nodes}x${advertMs}ms: ${line}`),
        );
        const f = s.steps.find((x) => x.step === 'failure');
        runs.push({
          nodes,
          advertMs,
          boundMs: s.failoverBoundMs,
          failure: f
            ? {
                clients: f.clients,
                affected: f.clientsAffected,
                ofFailed: f.clientsOfNode,
                outagesMs: f.outagesMs,
                tookMs: f.tookMs,
              }
            : null,
          planned: s.steps
            .filter((x) => x.planned)
            .map(({ step, clientsAffected, resets, httpErrors, tookMs, drainedMs }) => ({
              step,
              clientsAffected,
              resets,
              httpErrors,
              tookMs,
              drainedMs,
            })),
          ok: s.ok,
        });
      } catch (e) {
        runs.push({
          nodes,
          advertMs,
          boundMs: 3 * advertMs + advertMs / 4,
          failure: null,
          planned: [],
          ok: false,
          error: String(e),
        });
        log(`cluster ${nodes}x${advertMs}ms: ERROR ${String(e)}`);
      }
    }
  }
  return { runs, moveMs: o.moves > 0 ? await moveTimes(o.moves) : null };
}

/** One node with a data path of 64 buckets; `moves` single-bucket moves, each timed in the node. */
async function moveTimes(moves: number): Promise<ClusterBenchResult['moveMs']> {
  const lab = await createLab({ routers: 1, clients: 0, ipv6: false });
  try {
    const spec = {
      name: 'bench',
      interface: 'eth0',
      id: 9,
      mac: '01:00:5e:7e:54:09',
      macMode: 'multicast',
      addresses: ['192.0.2.80/32'],
      buckets: 64,
      hash: 'source',
      seed: 9,
    };
    const p = lab.spawn(
      lab.routers[0].ns,
      [process.execPath, '--import', 'tsx', NODE_AGENT, 'b', JSON.stringify(spec)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const lines = createInterface({ input: p.stdout! });
    const queue: ((o: Record<string, unknown>) => void)[] = [];
    lines.on('line', (l) => queue.shift()?.(JSON.parse(l)));
    const next = () => new Promise<Record<string, unknown>>((r) => queue.push(r));
    const ready = await next();
    if (!ready.ready) throw new Error(String(ready.error));
    const owned = new Set([...Array(32).keys()]);
    const ms: number[] = [];
    for (let i = 0; i < moves; i++) {
      // Move one bucket: give one away, take another (what a node does in a rebalance).
      owned.delete(i % 32);
      owned.add(32 + (i % 32));
      const r = next();
      p.stdin!.write(`${JSON.stringify({ cmd: 'set', owned: [...owned], draining: [i % 32] })}\n`);
      const a = await r;
      if (a.ok) ms.push(a.ms as number);
      owned.add(i % 32);
      owned.delete(32 + (i % 32));
    }
    const c = next();
    p.stdin!.write(`${JSON.stringify({ cmd: 'close' })}\n`);
    await c;
    return { n: ms.length, p50: quantile(ms, 0.5), p90: quantile(ms, 0.9), max: Math.max(...ms) };
  } finally {
    await lab.destroy();
  }
}
