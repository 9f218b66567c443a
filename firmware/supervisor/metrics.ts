// Prometheus metrics (`metrics.listen`): `GET /metrics` in the text exposition format, served on
// the main thread from the status snapshot the engine pushes (EngineClient.status()), so a scrape
// never touches the protocol engine's thread. prom-client writes the format (HELP/TYPE, label
// escaping) and the process metrics (CPU, memory, file descriptors).
//
// Names follow Prometheus conventions (base units, `_total` counters); where RFC 6527 (VRRPv3-MIB)
// defines a value, the metric has its meaning and the help text names the MIB object. The virtual
// router is the label `vrrp_instance` (not `instance`, which Prometheus gives the scrape target).
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { MetricsConfig } from '../config/types.ts';
import type { CountedDrop, EngineStatus, MasterReason } from '../core/status.ts';
import type { VrrpStateName } from '../core/vrrp/types.ts';

const STATES: readonly VrrpStateName[] = ['init', 'backup', 'master', 'fault'];

/** Every drop reason, so each series exists at 0 before the first drop (Prometheus practice:
 *  a rate over a series that appears late misses its first increase). */
export const DROP_REASONS = [
  'too-short',
  'bad-ethertype',
  'bad-ip-header',
  'bad-ip-checksum',
  'not-vrrp',
  'bad-ttl',
  'bad-version',
  'bad-type',
  'bad-checksum',
  'bad-length',
  'address-count',
  'bad-auth',
  'unknown-vrid',
  'interval-mismatch',
  'address-mismatch',
  'own-packet',
  'bad-arp',
  'bad-icmpv6',
  'carp-advert',
  'vrrp-advert',
  'ignored',
] as const satisfies readonly CountedDrop[];
// A reason added to CountedDrop but not above fails to compile here.
const dropsComplete: [Exclude<CountedDrop, (typeof DROP_REASONS)[number]>] extends [never] ? true : never = true;
void dropsComplete;

const MASTER_REASONS = [
  'startup',
  'shutdown',
  'master-down-timer',
  'higher-priority-advert',
  'priority-zero-advert',
  'preempt',
  'owner',
  'interface-down',
  'interface-up',
  'priority-change',
  'lower-priority-master',
  'preferred-master',
  'demoted-master',
  'master-leaving',
] as const satisfies readonly MasterReason[];
const reasonsComplete: [Exclude<MasterReason, (typeof MASTER_REASONS)[number]>] extends [never] ? true : never = true;
void reasonsComplete;

/** How a backup that is not the address owner becomes master: these series exist from the start,
 *  at 0, so that a rate or an increase sees the first transition. */
const USUAL_MASTER_REASONS: readonly MasterReason[] = ['master-down-timer', 'priority-zero-advert', 'preempt'];

/**
 * RFC 6527 vrrpv3StatisticsNewMasterReason: notMaster(0), priority(1), preempted(2),
 * masterNoResponse(3). The Master_Down_Timer (including its Skew_Time run after a priority-0
 * advert, RFC 5798 6.4.2) is "no response"; preemption is "preempted"; the rest (the address
 * owner at startup, a change of our own priority) is "priority".
 */
export function newMasterReasonCode(reason: MasterReason | null): 0 | 1 | 2 | 3 {
  if (reason === null) return 0;
  if (reason === 'master-down-timer' || reason === 'priority-zero-advert') return 3;
  if (reason === 'preempt') return 2;
  return 1;
}

const IL = ['vrrp_instance', 'interface', 'vrid', 'family'] as const;
type InstanceLabels = Record<(typeof IL)[number], string>;

/** The registry and its metrics, refreshed from one status snapshot per scrape. */
export class TandemMetrics {
  readonly registry = new Registry();
  private readonly m;

  constructor() {
    const r = [this.registry];
    const g = (name: string, help: string, labelNames: readonly string[] = IL) =>
      new Gauge({ name, help, labelNames, registers: r });
    const c = (name: string, help: string, labelNames: readonly string[] = IL) =>
      new Counter({ name, help, labelNames, registers: r });
    this.m = {
      info: g('tandem_info', 'Always 1; labels name the node and the running version.', ['node', 'version']),
      state: g(
        'tandem_vrrp_state',
        'Current state of the virtual router: 1 for the state it is in, 0 for the others (vrrpv3OperationsStatus).',
        [...IL, 'state'],
      ),
      priority: g('tandem_vrrp_priority', 'Configured priority, 1..255 (vrrpv3OperationsPriority).'),
      effectivePriority: g(
        'tandem_vrrp_effective_priority',
        'Priority sent in adverts, after tracking, set-priority and maintenance (0 while handing over).',
      ),
      masterAdverInterval: g(
        'tandem_vrrp_master_advertisement_interval_seconds',
        "Master_Adver_Interval: the master's advertisement interval as learned (RFC 5798 6.1).",
      ),
      masterTransitions: c(
        'tandem_vrrp_master_transitions_total',
        'Times the virtual router became master, by the reason of the transition; their sum is vrrpv3StatisticsMasterTransitions.',
        [...IL, 'reason'],
      ),
      newMasterReason: g(
        'tandem_vrrp_new_master_reason',
        'Why the current mastership began (vrrpv3StatisticsNewMasterReason): 0 notMaster, 1 priority, 2 preempted, 3 masterNoResponse.',
      ),
      transitions: c('tandem_vrrp_state_transitions_total', 'Every state change, master or not.'),
      masterDownExpiries: c(
        'tandem_vrrp_master_down_expiries_total',
        'Master_Down_Timer expiries that made this router master (RFC 5798 6.4.2; after a priority-0 advert it runs for Skew_Time).',
      ),
      lastTransition: g(
        'tandem_vrrp_last_transition_timestamp_seconds',
        'Unix time of the last state change (absent before the first).',
      ),
      advertsSent: c(
        'tandem_vrrp_advertisements_sent_total',
        'Advertisements sent (one per unicast peer with unicast_peers).',
      ),
      advertsReceived: c(
        'tandem_vrrp_advertisements_received_total',
        'Advertisements received for this virtual router (vrrpv3StatisticsRcvdAdvertisements).',
      ),
      drops: c(
        'tandem_vrrp_dropped_packets_total',
        'Packets for this virtual router dropped, by reason (vrrpv3StatisticsIpTtlErrors, ...ChecksumErrors, ...VersionErrors and friends, split finer).',
        [...IL, 'reason'],
      ),
      announcements: c(
        'tandem_vrrp_announcements_total',
        'Gratuitous ARP / unsolicited NA frames sent for the virtual addresses.',
      ),
      addressesRestored: c(
        'tandem_vrrp_addresses_restored_total',
        'Virtual addresses put back after other software removed them.',
      ),
      sendErrors: c('tandem_vrrp_send_errors_total', 'Frames the kernel refused to send.'),
      lateTimers: c('tandem_vrrp_late_timers_total', 'Protocol timers that fired more than a quarter interval late.'),
      portDrops: c(
        'tandem_interface_dropped_packets_total',
        'Frames dropped on an interface before reaching a virtual router (decode errors, unknown VRID), by reason.',
        ['interface', 'reason'],
      ),
      captureDropped: c(
        'tandem_interface_capture_dropped_total',
        'Frames the kernel dropped before tandem read them (pcap_stats).',
        ['interface'],
      ),
      // Active-active clusters (issue #13, docs/cluster.md), labelled by cluster name.
      clusterBuckets: g(
        'tandem_cluster_buckets',
        'Buckets this node serves: owned (every packet) or draining (established flows only).',
        ['cluster', 'role'],
      ),
      clusterWeight: g('tandem_cluster_weight', 'Weight this node advertises, after tracking and maintenance.', [
        'cluster',
      ]),
      clusterMembers: g('tandem_cluster_members', 'Live members this node hears, itself included.', ['cluster']),
      clusterFailovers: c(
        'tandem_cluster_failover_buckets_total',
        'Buckets taken at once from a member that went silent (no draining).',
        ['cluster'],
      ),
      clusterDrops: c('tandem_cluster_dropped_adverts_total', 'Cluster adverts dropped, by reason.', [
        'cluster',
        'reason',
      ]),
      loopDelay: g(
        'tandem_engine_loop_delay_seconds',
        "Event-loop delay of the protocol engine's thread (5 ms resolution), by quantile since start.",
        ['quantile'],
      ),
      loopDelayMax: g(
        'tandem_engine_loop_delay_max_seconds',
        "Largest event-loop delay of the protocol engine's thread.",
      ),
    };
    collectDefaultMetrics({ register: this.registry });
  }

  /** Replaces every value with what `s` says (instances removed by a reload disappear). */
  update(s: EngineStatus): void {
    const m = this.m;
    for (const metric of Object.values(m)) metric.reset();
    m.info.set({ node: s.node, version: s.version }, 1);
    for (const i of s.instances) {
      const l: InstanceLabels = {
        vrrp_instance: i.name,
        interface: i.interface,
        vrid: String(i.vrid),
        family: i.family === 4 ? 'ipv4' : 'ipv6',
      };
      for (const st of STATES) m.state.set({ ...l, state: st }, i.state === st ? 1 : 0);
      m.priority.set(l, i.priority);
      m.effectivePriority.set(l, i.effectivePriority);
      m.masterAdverInterval.set(l, i.masterAdverIntervalMs / 1000);
      const by = i.counters.becameMasterBy;
      for (const reason of MASTER_REASONS) {
        const n = by[reason] ?? 0;
        if (n || USUAL_MASTER_REASONS.includes(reason)) m.masterTransitions.inc({ ...l, reason }, n);
      }
      m.newMasterReason.set(l, i.state === 'master' ? newMasterReasonCode(i.masterReason) : 0);
      m.transitions.inc(l, i.counters.transitions);
      m.masterDownExpiries.inc(l, (by['master-down-timer'] ?? 0) + (by['priority-zero-advert'] ?? 0));
      if (i.lastTransitionUnixMs !== null) m.lastTransition.set(l, i.lastTransitionUnixMs / 1000);
      m.advertsSent.inc(l, i.counters.advertsSent);
      m.advertsReceived.inc(l, i.counters.advertsReceived);
      for (const reason of DROP_REASONS) m.drops.inc({ ...l, reason }, i.counters.drops[reason] ?? 0);
      m.announcements.inc(l, i.counters.announcements);
      m.addressesRestored.inc(l, i.counters.addressesRestored);
      m.sendErrors.inc(l, i.counters.sendErrors);
      m.lateTimers.inc(l, i.counters.lateTimers);
    }
    for (const p of s.interfaces) {
      for (const reason of DROP_REASONS) m.portDrops.inc({ interface: p.name, reason }, p.drops[reason] ?? 0);
      m.captureDropped.inc({ interface: p.name }, p.captureDropped);
    }
    for (const cl of s.clusters ?? []) {
      const l = { cluster: cl.name };
      m.clusterBuckets.set({ ...l, role: 'owned' }, cl.owned.length);
      m.clusterBuckets.set({ ...l, role: 'draining' }, cl.draining.length);
      m.clusterWeight.set(l, cl.weight);
      m.clusterMembers.set(l, cl.members.length);
      m.clusterFailovers.inc(l, cl.counters.failovers);
      for (const [reason, n] of Object.entries(cl.drops)) m.clusterDrops.inc({ ...l, reason }, n ?? 0);
    }
    m.loopDelay.set({ quantile: '0.5' }, s.loopDelay.p50 / 1000);
    m.loopDelay.set({ quantile: '0.99' }, s.loopDelay.p99 / 1000);
    m.loopDelayMax.set(s.loopDelay.max / 1000);
  }

  async render(s: EngineStatus): Promise<string> {
    this.update(s);
    return this.registry.metrics();
  }
}

/** The HTTP listener: `GET /metrics` (and `/` with a pointer to it); anything else is 404/405. */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    readonly address: { host: string; port: number },
  ) {}

  static listen(cfg: MetricsConfig, status: () => EngineStatus): Promise<MetricsServer> {
    const metrics = new TandemMetrics();
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('tandem: metrics at /metrics\n');
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics.render(status()).then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (e) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
      );
    });
    // A scraper that holds a connection open must not keep the daemon from exiting.
    server.keepAliveTimeout = 5_000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.port, cfg.host, () => {
        server.off('error', reject);
        server.unref();
        const a = server.address();
        resolve(new MetricsServer(server, { host: cfg.host, port: typeof a === 'object' && a ? a.port : cfg.port }));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
