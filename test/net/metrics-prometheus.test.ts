// Prometheus metrics against a real Prometheus (Debian's `prometheus` 2.42): two tandem routers
// with `metrics.listen`, scraped every second by Prometheus running in the lab's client namespace
// and queried through its HTTP API. The master's state series is 1 at election; when its switch
// port stops forwarding, the backup's `master` series turns 1 with reason master-down-timer
// (RFC 6527 masterNoResponse) and the old master's target goes down. Every query of the Grafana
// dashboard in packaging/grafana/ runs against the same Prometheus and every metric it names
// exists. Needs root, dist/tandem.js (./build.sh) and the prometheus package.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { withLab, waitFor } from '../kit/lab.ts';
import type { Lab, LabHost } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, waitForStatus, stateOf } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const PORT = 9100;
const PROM = '127.0.0.1:9090';
const JOB = 'tandem';
// RFC 5798 6.1: Master_Down_Interval at 100 ms adverts is under 400 ms; the series follows within
// a scrape interval (1 s) or two. The bounds are wide for a loaded 2-core machine.
const SERIES_TIMEOUT_MS = 20_000;
const DASHBOARD = new URL('../../packaging/grafana/tandem-dashboard.json', import.meta.url).pathname;

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(
  lab: Lab,
  ns: string,
  expr: string,
): Promise<{ status: string; data?: { result: PromResult[] }; error?: string }> {
  const r = await lab.exec(
    ns,
    ['curl', '-sS', '--max-time', '5', '--data-urlencode', `query=${expr}`, `http://${PROM}/api/v1/query`],
    { allowFail: true, timeoutMs: 10_000 },
  );
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { status: 'error', error: `${r.code} ${r.stdout} ${r.stderr}` };
  }
}

async function values(lab: Lab, ns: string, expr: string): Promise<PromResult[]> {
  const r = await query(lab, ns, expr);
  return r.status === 'success' ? (r.data?.result ?? []) : [];
}

function startPrometheus(
  lab: Lab,
  ns: string,
  targets: string[],
  dir: string,
): { proc: ChildProcess; log: () => string } {
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(
    cfg,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      `  - job_name: ${JOB}`,
      '    static_configs:',
      `      - targets: [${targets.map((t) => `"${t}"`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const proc = lab.spawn(ns, [
    'prometheus',
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${PROM}`,
    '--log.level=warn',
  ]);
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out = (out + d).slice(-20_000);
  });
  return { proc, log: () => out };
}

const routerYaml = (h: LabHost, priority: number) =>
  `metrics:\n  listen: "${h.ipv4}:${PORT}"\ninstances:\n${instanceYaml({ ifname: h.ifname, vrid: 51, priority, addresses: ['192.0.2.254/24'] })}`;

test('Prometheus sees the master fail: the state series moves to the backup, reason masterNoResponse', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const [r1, r2] = lab.routers;
    const client = lab.clients[0].ns;
    const dir = mkdtempSync(join(tmpdir(), 'tandem-prom-'));
    const ts: TandemHandle[] = [];
    let prom: { proc: ChildProcess; log: () => string } | undefined;
    try {
      ts.push(await startTandem(lab, r1, routerYaml(r1, 200)));
      ts.push(await startTandem(lab, r2, routerYaml(r2, 100)));
      await waitForStatus(ts[0], (s) => stateOf(s) === 'master', 10_000);
      const t1 = `${r1.ipv4}:${PORT}`;
      const t2 = `${r2.ipv4}:${PORT}`;
      prom = startPrometheus(lab, client, [t1, t2], dir);
      const master = (t: string) => `tandem_vrrp_state{instance="${t}",state="master"}`;

      const elected = await waitFor(
        async () => {
          const a = await values(lab, client, master(t1));
          const b = await values(lab, client, master(t2));
          return a[0]?.value[1] === '1' && b[0]?.value[1] === '0';
        },
        SERIES_TIMEOUT_MS,
        250,
      );
      assert.ok(elected, `Prometheus never saw r1 master and r2 backup:\n${prom.log()}`);
      const info = await values(lab, client, 'tandem_info');
      assert.equal(info.map((r) => r.metric.node).sort(), [r1.ns, r2.ns].sort());

      await lab.linkDown(r1);
      await waitForStatus(ts[1], (s) => stateOf(s) === 'master', 10_000);
      const moved = await waitFor(
        async () => (await values(lab, client, `${master(t2)} == 1`)).length === 1,
        SERIES_TIMEOUT_MS,
        250,
      );
      assert.ok(moved, "Prometheus never saw r2's master series turn 1");
      const changed = await values(lab, client, `changes(${master(t2)}[5m])`);
      assert.ok(Number(changed[0]?.value[1]) >= 1, `r2's master series changed: ${JSON.stringify(changed)}`);
      const why = await values(lab, client, `tandem_vrrp_new_master_reason{instance="${t2}"}`);
      assert.is(why[0]?.value[1], '3', 'vrrpv3StatisticsNewMasterReason masterNoResponse');
      const byReason = await values(lab, client, `tandem_vrrp_master_transitions_total{instance="${t2}"} > 0`);
      assert.equal(
        byReason.map((r) => [r.metric.reason, r.value[1]]),
        [['master-down-timer', '1']],
      );
      const expiries = await values(lab, client, `tandem_vrrp_master_down_expiries_total{instance="${t2}"}`);
      assert.is(expiries[0]?.value[1], '1');
      // The old master is cut off: Prometheus cannot scrape it any more.
      const down = await waitFor(
        async () => (await values(lab, client, `up{instance="${t1}"}`))[0]?.value[1] === '0',
        SERIES_TIMEOUT_MS,
        250,
      );
      assert.ok(down, 'the cut-off router is reported down by Prometheus');

      // The dashboard: every query is valid PromQL here and names only metrics Prometheus has.
      const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
      const nameList = await lab.exec(client, ['curl', '-sS', `http://${PROM}/api/v1/label/__name__/values`]);
      const names = new Set(JSON.parse(nameList.stdout).data as string[]);
      const exprs: string[] = [
        ...dash.templating.list.map((v: { query: string }) => v.query),
        ...dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr)),
      ];
      assert.ok(exprs.length >= 12);
      for (const raw of exprs) {
        const expr = raw
          .replaceAll('$__rate_interval', '10s')
          .replaceAll('$job', JOB)
          .replaceAll('$vrrp_instance', '.*');
        for (const name of expr.match(/\b(?:tandem|process)_[a-z_]+/g) ?? [])
          assert.ok(names.has(name), `dashboard metric ${name} is not in Prometheus`);
        // label_values() is Grafana's, not PromQL: check the metric it reads instead.
        const promql = expr.startsWith('label_values(') ? (/label_values\((.*), \w+\)$/.exec(expr)?.[1] ?? '') : expr;
        const r = await query(lab, client, promql);
        assert.is(r.status, 'success', `${promql}: ${r.error}`);
        if (!/> 0$/.test(promql)) assert.ok((r.data?.result.length ?? 0) > 0, `${promql} returned no series`);
      }
    } finally {
      if (prom?.proc.pid) {
        try {
          process.kill(-prom.proc.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await stopAll(ts);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.run();
