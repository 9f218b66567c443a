// How an instance's BFD session shows: the `tandem status` line and the Prometheus series.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatBfdLine } from '../../firmware/commands/bfd-status.ts';
import { formatStatus } from '../../firmware/commands/status.ts';
import type { BfdStatus } from '../../firmware/core/bfd/index.ts';
import type { EngineStatus } from '../../firmware/core/status.ts';
import { TandemMetrics } from '../../firmware/supervisor/metrics.ts';
import { exampleInstanceStatus } from '../kit/status.ts';

const BFD: BfdStatus = {
  peer: '192.0.2.2',
  state: 'Up',
  remoteState: 'Up',
  localDiscr: 7,
  remoteDiscr: 9,
  configuredIntervalMs: 3,
  multiplier: 3,
  txIntervalMs: 3,
  detectionTimeMs: 9,
  remoteMinRxMs: 3,
  remoteDetectMult: 3,
  polling: false,
  everUp: true,
  timeInStateMs: 1000,
  lastDownDiag: 'control-detection-time-expired',
  takeoverHoldMs: 0,
  counters: {
    packetsSent: 10,
    packetsReceived: 11,
    sendErrors: 0,
    up: 2,
    down: 1,
    peerSilent: 1,
    damped: 0,
    takeovers: 1,
    drops: { 'bfd-ttl': 4 },
  },
};

const status = (bfd?: BfdStatus): EngineStatus => ({
  node: 'n',
  version: '0',
  pid: 1,
  bootId: 'b',
  uptimeMs: 1,
  loopDelay: { p50: 0, p99: 0, max: 0 },
  instances: [exampleInstanceStatus(bfd ? { bfd } : {})],
  interfaces: [],
});

test('status shows the session, its negotiated timers, last down reason and drops', () => {
  const line = formatBfdLine(exampleInstanceStatus({ bfd: BFD }));
  assert.is(
    line,
    'lan: BFD 192.0.2.2 Up (remote Up), tx 3 ms, detect 9 ms, configured 3 ms x 3, last down control-detection-time-expired, takeovers 1, drops bfd-ttl=4\n',
  );
  assert.ok(formatStatus(status(BFD)).includes(line));
  assert.not.ok(formatStatus(status()).includes('BFD'));
});

test('status says when flap damping holds the takeover', () => {
  assert.ok(formatBfdLine(exampleInstanceStatus({ bfd: { ...BFD, takeoverHoldMs: 1500 } })).includes('held 1500 ms'));
});

test('metrics carry state, intervals, takeovers and drops per session', async () => {
  const text = await new TandemMetrics().render(status(BFD));
  const l = 'vrrp_instance="lan",peer="192.0.2.2"';
  assert.ok(text.includes(`tandem_bfd_session_state{${l},state="Up"} 1`), text);
  assert.ok(text.includes(`tandem_bfd_session_state{${l},state="Down"} 0`));
  assert.ok(text.includes(`tandem_bfd_transmit_interval_seconds{${l}} 0.003`));
  assert.ok(text.includes(`tandem_bfd_detection_time_seconds{${l}} 0.009`));
  assert.ok(text.includes(`tandem_bfd_takeovers_total{${l}} 1`));
  assert.ok(text.includes(`tandem_bfd_dropped_packets_total{${l},reason="bfd-ttl"} 4`));
  const none = await new TandemMetrics().render(status());
  assert.not.ok(none.includes('tandem_bfd_session_state{'));
});

test.run();
