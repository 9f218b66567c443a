// firmware/supervisor/metrics.ts: a status snapshot to the Prometheus text format, the RFC 6527
// meanings, and the HTTP listener; config: metrics.listen forms and errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';
import type { EngineStatus } from '../../firmware/core/status.ts';
import { MetricsServer, newMasterReasonCode, TandemMetrics } from '../../firmware/supervisor/metrics.ts';
import { exampleCounters, exampleInstanceStatus } from '../kit/status.ts';

function status(over: Partial<EngineStatus> = {}): EngineStatus {
  return {
    node: 'r1',
    version: '0.1.0',
    pid: 1,
    bootId: 'b',
    uptimeMs: 1,
    loopDelay: { p50: 5, p99: 10, max: 20 },
    instances: [
      exampleInstanceStatus({
        name: 'lan',
        state: 'master',
        masterReason: 'master-down-timer',
        lastTransitionUnixMs: 1_700_000_000_500,
        counters: exampleCounters({
          advertsSent: 12,
          advertsReceived: 3,
          transitions: 2,
          becameMaster: 2,
          becameMasterBy: { 'master-down-timer': 1, 'priority-zero-advert': 1 },
          drops: { 'bad-ttl': 4 },
        }),
      }),
    ],
    interfaces: [{ name: 'eth0', drops: { 'unknown-vrid': 7 }, captureDropped: 1 }],
    ...over,
  };
}

/** name{labels} -> value, from the text format. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const L = 'vrrp_instance="lan",interface="eth0",vrid="7",family="ipv4"';

test('a snapshot becomes the documented series with their RFC 6527 meanings', async () => {
  const text = await new TandemMetrics().render(status());
  const s = samples(text);
  assert.is(s.get(`tandem_vrrp_state{${L},state="master"}`), 1);
  assert.is(s.get(`tandem_vrrp_state{${L},state="backup"}`), 0);
  assert.is(s.get(`tandem_vrrp_priority{${L}}`), 100);
  assert.is(s.get(`tandem_vrrp_master_transitions_total{${L},reason="master-down-timer"}`), 1);
  assert.is(s.get(`tandem_vrrp_master_transitions_total{${L},reason="priority-zero-advert"}`), 1);
  assert.is(s.get(`tandem_vrrp_master_transitions_total{${L},reason="preempt"}`), 0, 'present at 0');
  assert.is(s.get(`tandem_vrrp_master_down_expiries_total{${L}}`), 2);
  assert.is(s.get(`tandem_vrrp_new_master_reason{${L}}`), 3, 'masterNoResponse');
  assert.is(s.get(`tandem_vrrp_last_transition_timestamp_seconds{${L}}`), 1_700_000_000.5);
  assert.is(s.get(`tandem_vrrp_advertisements_sent_total{${L}}`), 12);
  assert.is(s.get(`tandem_vrrp_advertisements_received_total{${L}}`), 3);
  assert.is(s.get(`tandem_vrrp_dropped_packets_total{${L},reason="bad-ttl"}`), 4);
  assert.is(s.get(`tandem_vrrp_dropped_packets_total{${L},reason="bad-checksum"}`), 0, 'every reason at 0');
  assert.is(s.get('tandem_interface_dropped_packets_total{interface="eth0",reason="unknown-vrid"}'), 7);
  assert.is(s.get('tandem_interface_capture_dropped_total{interface="eth0"}'), 1);
  assert.is(s.get('tandem_engine_loop_delay_seconds{quantile="0.99"}'), 0.01);
  assert.is(s.get('tandem_info{node="r1",version="0.1.0"}'), 1);
  assert.ok(s.has('process_cpu_seconds_total') && s.has('process_resident_memory_bytes'), 'process metrics');
  assert.match(text, /# TYPE tandem_vrrp_master_transitions_total counter/);
});

test('a backup reports notMaster; an instance removed by reload disappears; counters never go down in one run', async () => {
  const m = new TandemMetrics();
  await m.render(status());
  const backup = status();
  backup.instances[0] = { ...backup.instances[0], state: 'backup', masterReason: null };
  let s = samples(await m.render(backup));
  assert.is(s.get(`tandem_vrrp_new_master_reason{${L}}`), 0);
  assert.is(s.get(`tandem_vrrp_state{${L},state="backup"}`), 1);
  s = samples(await m.render(status({ instances: [] })));
  assert.not.ok([...s.keys()].some((k) => k.includes('vrrp_instance="lan"')));
});

test('RFC 6527 vrrpv3StatisticsNewMasterReason codes', () => {
  assert.is(newMasterReasonCode(null), 0);
  assert.is(newMasterReasonCode('owner'), 1);
  assert.is(newMasterReasonCode('priority-change'), 1);
  assert.is(newMasterReasonCode('preempt'), 2);
  assert.is(newMasterReasonCode('master-down-timer'), 3);
  assert.is(newMasterReasonCode('priority-zero-advert'), 3);
});

test('the listener serves /metrics with the exposition content type, 404 elsewhere, 405 for POST', async () => {
  const srv = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => status());
  try {
    const base = `http://127.0.0.1:${srv.address.port}`;
    const r = await fetch(`${base}/metrics`);
    assert.is(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await r.text(), /tandem_vrrp_state\{/);
    assert.is((await fetch(`${base}/nope`)).status, 404);
    assert.is((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await srv.close();
  }
});

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };
const conf = (listen: string) =>
  `metrics:\n  listen: ${listen}\ninstances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [192.0.2.1]\n`;

test('metrics.listen: a port alone is 127.0.0.1; HOST:PORT and [IPv6]:PORT; off when absent', () => {
  const cases: [string, { host: string; port: number }][] = [
    ['9100', { host: '127.0.0.1', port: 9100 }],
    ['"localhost:9100"', { host: '127.0.0.1', port: 9100 }],
    ['192.0.2.11:9100', { host: '192.0.2.11', port: 9100 }],
    ['"[2001:DB8::1]:9100"', { host: '2001:db8::1', port: 9100 }],
    ['"*:9100"', { host: '0.0.0.0', port: 9100 }],
  ];
  for (const [text, want] of cases) {
    const r = parseConfig(conf(text), 't.yaml', OPTS);
    if (!r.ok) assert.unreachable(r.errors.map(formatIssue).join('\n'));
    else assert.equal(r.config.metrics, want, text);
  }
  const off = parseConfig(conf('9100').split('\n').slice(2).join('\n'), 't.yaml', OPTS);
  assert.ok(off.ok && off.config.metrics === undefined);
});

test('metrics.listen: bad forms are file:line errors', () => {
  for (const [text, reason] of [
    ['70000', /port must be 1\.\.65535/],
    ['"2001:db8::1:9100"', /expected PORT, HOST:PORT/],
    ['"eth0:9100"', /not an IPv4 or IPv6 address/],
    ['true', /expected PORT/],
  ] as const) {
    const r = parseConfig(conf(text), 't.yaml', OPTS);
    assert.not.ok(r.ok, text);
    if (!r.ok) {
      assert.is(formatIssue(r.errors[0]).split(': ')[0], 't.yaml:2', text);
      assert.match(r.errors[0].reason, reason);
    }
  }
});

test.run();
