// Prometheus series for each instance's BFD session (docs/bfd.md), refreshed from the status.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EngineStatus } from '../core/status.ts';

const L = ['vrrp_instance', 'peer'] as const;
const STATES = ['AdminDown', 'Down', 'Init', 'Up'] as const;

export class BfdMetrics {
  private readonly m;

  constructor(registry: Registry) {
    const r = [registry];
    const g = (name: string, help: string, labelNames: readonly string[] = L) =>
      new Gauge({ name, help, labelNames, registers: r });
    const c = (name: string, help: string, labelNames: readonly string[] = L) =>
      new Counter({ name, help, labelNames, registers: r });
    this.m = {
      state: g('tandem_bfd_session_state', 'BFD session state (RFC 5880 4.1): 1 for the state it is in.', [
        ...L,
        'state',
      ]),
      tx: g('tandem_bfd_transmit_interval_seconds', 'Negotiated transmit interval (RFC 5880 6.8.2).'),
      detect: g('tandem_bfd_detection_time_seconds', 'Detection Time (RFC 5880 6.8.4); 0 before the first packet.'),
      sent: c('tandem_bfd_packets_sent_total', 'BFD Control packets sent.'),
      received: c('tandem_bfd_packets_received_total', 'BFD Control packets accepted by the session.'),
      up: c('tandem_bfd_session_up_total', 'Transitions to Up.'),
      down: c('tandem_bfd_session_down_total', 'Transitions from Init or Up to Down.'),
      takeovers: c(
        'tandem_bfd_takeovers_total',
        'Takeovers started by the session: the master went silent (master-down-detected).',
      ),
      damped: c('tandem_bfd_damped_total', 'Silent-peer Downs inside the flap-damping hold: no takeover.'),
      drops: c('tandem_bfd_dropped_packets_total', 'Datagrams for the session dropped, by reason.', [...L, 'reason']),
    };
  }

  update(s: EngineStatus): void {
    const m = this.m;
    for (const metric of Object.values(m)) metric.reset();
    for (const i of s.instances) {
      const b = i.bfd;
      if (!b) continue;
      const l = { vrrp_instance: i.name, peer: b.peer };
      for (const st of STATES) m.state.set({ ...l, state: st }, b.state === st ? 1 : 0);
      m.tx.set(l, b.txIntervalMs / 1000);
      m.detect.set(l, b.detectionTimeMs / 1000);
      m.sent.inc(l, b.counters.packetsSent);
      m.received.inc(l, b.counters.packetsReceived);
      m.up.inc(l, b.counters.up);
      m.down.inc(l, b.counters.down);
      m.takeovers.inc(l, b.counters.takeovers);
      m.damped.inc(l, b.counters.damped);
      for (const [reason, n] of Object.entries(b.counters.drops)) m.drops.inc({ ...l, reason }, n ?? 0);
    }
  }
}
