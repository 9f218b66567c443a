// The VRRPv3-MIB (RFC 6527) served through the system's snmpd as an AgentX subagent (RFC 2741),
// with net-snmp's subagent: tandem registers mib-2.207 with snmpd, and snmpd answers SNMP queries
// for it by asking tandem. Rows come from the engine's status snapshots, refreshed on every push
// (at once after a change, otherwise every second), on the main thread like the control socket.
//
// Served: vrrpv3OperationsTable (columns 3-11 and 13), vrrpv3StatisticsTable (columns 1-5, 9-11),
// and the three router-wide error counters. Left out, as RFC 6527 allows a read-only agent to:
// the read-create semantics (configuration stays in tandem.yaml), vrrpv3AssociatedIpAddrTable,
// vrrpv3OperationsUpTime and the discontinuity times (both are sysUpTime stamps of snmpd's clock,
// which a subagent does not know), and the notifications.
import { parseIp } from '../core/packet/addr.ts';
import snmp from 'net-snmp';
import type { ColumnDef, Subagent } from 'net-snmp';
import type { SnmpConfig } from '../config/types.ts';
import type { EngineStatus, InstanceStatus } from '../core/status.ts';
import type { Logger } from '../runtime/log.ts';
import { newMasterReasonCode } from './metrics.ts';

/** RFC 6527 object identifiers (vrrpv3MIB = mib-2 207). */
export const VRRPV3_MIB = '1.3.6.1.2.1.207';
export const OPERATIONS_ENTRY = `${VRRPV3_MIB}.1.1.1.1`; // vrrpv3OperationsTable.1
export const STATISTICS_ENTRY = `${VRRPV3_MIB}.1.2.5.1`; // vrrpv3StatisticsTable.1
export const ROUTER_CHECKSUM_ERRORS = `${VRRPV3_MIB}.1.2.1`;
export const ROUTER_VERSION_ERRORS = `${VRRPV3_MIB}.1.2.2`;
export const ROUTER_VRID_ERRORS = `${VRRPV3_MIB}.1.2.3`;

const RECONNECT_MS = 5_000;

// net-snmp 3.29 writes an AgentX octet string (RFC 2741 5.3) as JavaScript text in UTF-8 with the
// character count as its length, so any byte over 0x7f (an IPv4 address like 192.0.2.1, a MAC)
// is corrupted and a Buffer is refused. Replace it with the RFC's encoding: the byte count, the
// bytes, zero padding to a multiple of 4.
snmp.AgentXPdu.writeOctetString = (buffer, value) => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  buffer.writeUInt32BE(bytes.length);
  buffer.writeBuffer(bytes);
  for (let i = 0; i < (4 - (bytes.length % 4)) % 4; i++) buffer.writeUInt8(0);
};
const T = snmp.ObjectType;
const RO = snmp.MaxAccess['read-only'];
const NA = snmp.MaxAccess['not-accessible'];

// The entry's INDEX is { ifIndex, vrrpv3OperationsVrId, vrrpv3OperationsInetAddrType }. ifIndex is
// IF-MIB's; here it is a local index column that is never served (net-snmp adds no instance for a
// not-accessible index column), numbered outside the MIB's columns.
const IF_INDEX: ColumnDef = { number: 200, name: 'ifIndex', type: T.Integer, maxAccess: NA };
const indexColumns = (prefix: string, numbers: [number, number]): ColumnDef[] => [
  IF_INDEX,
  { number: numbers[0], name: `${prefix}VrId`, type: T.Integer, maxAccess: NA },
  { number: numbers[1], name: `${prefix}InetAddrType`, type: T.Integer, maxAccess: NA },
];
const INDEX = (prefix: string) => [
  { columnName: 'ifIndex' },
  { columnName: `${prefix}VrId` },
  { columnName: `${prefix}InetAddrType` },
];

const OPERATIONS_COLUMNS: ColumnDef[] = [
  ...indexColumns('vrrpv3Operations', [1, 2]),
  { number: 3, name: 'vrrpv3OperationsMasterIpAddr', type: T.OctetString, maxAccess: RO },
  { number: 4, name: 'vrrpv3OperationsPrimaryIpAddr', type: T.OctetString, maxAccess: RO },
  { number: 5, name: 'vrrpv3OperationsVirtualMacAddr', type: T.OctetString, maxAccess: RO },
  { number: 6, name: 'vrrpv3OperationsStatus', type: T.Integer, maxAccess: RO },
  { number: 7, name: 'vrrpv3OperationsPriority', type: T.Gauge, maxAccess: RO },
  { number: 8, name: 'vrrpv3OperationsAddrCount', type: T.Integer, maxAccess: RO },
  { number: 9, name: 'vrrpv3OperationsAdvInterval', type: T.Integer, maxAccess: RO },
  { number: 10, name: 'vrrpv3OperationsPreemptMode', type: T.Integer, maxAccess: RO },
  { number: 11, name: 'vrrpv3OperationsAcceptMode', type: T.Integer, maxAccess: RO },
  { number: 13, name: 'vrrpv3OperationsRowStatus', type: T.Integer, maxAccess: RO },
];

// The statistics entry AUGMENTS the operations entry: same index, its own columns (stats_ index
// columns are renamed so the two providers' column names stay distinct).
const STATISTICS_COLUMNS: ColumnDef[] = [
  ...indexColumns('stats', [201, 202]),
  { number: 1, name: 'vrrpv3StatisticsMasterTransitions', type: T.Counter, maxAccess: RO },
  { number: 2, name: 'vrrpv3StatisticsNewMasterReason', type: T.Integer, maxAccess: RO },
  { number: 3, name: 'vrrpv3StatisticsRcvdAdvertisements', type: T.Counter64, maxAccess: RO },
  { number: 4, name: 'vrrpv3StatisticsAdvIntervalErrors', type: T.Counter64, maxAccess: RO },
  { number: 5, name: 'vrrpv3StatisticsIpTtlErrors', type: T.Counter64, maxAccess: RO },
  { number: 9, name: 'vrrpv3StatisticsRcvdInvalidTypePackets', type: T.Counter64, maxAccess: RO },
  { number: 10, name: 'vrrpv3StatisticsAddressListErrors', type: T.Counter64, maxAccess: RO },
  { number: 11, name: 'vrrpv3StatisticsPacketLengthErrors', type: T.Counter64, maxAccess: RO },
];

/** InetAddress (RFC 4001): the address's octets; InetAddressType ipv4(1), ipv6(2). */
export function inetAddress(text: string | null): Buffer {
  const ip = text ? parseIp(text) : undefined; // the one address parser (core/packet/addr.ts)
  return ip ? Buffer.from(ip.bytes) : Buffer.alloc(0);
}

/** vrrpv3OperationsStatus: initialize(1), backup(2), master(3). tandem's fault state is not
 *  running the protocol, which the MIB calls initialize. */
export function operationsStatus(state: InstanceStatus['state']): 1 | 2 | 3 {
  return state === 'master' ? 3 : state === 'backup' ? 2 : 1;
}

const TRUTH = (b: boolean) => (b ? 1 : 2); // SNMPv2-TC TruthValue

/** The row values (index first, in column order) of one instance in each table. */
export function rows(i: InstanceStatus): { index: number[]; operations: unknown[]; statistics: unknown[] } {
  const index = [i.ifIndex, i.vrid, i.family === 4 ? 1 : 2];
  const d = i.counters.drops;
  return {
    index,
    operations: [
      ...index,
      inetAddress(i.masterIp),
      inetAddress(i.primaryIp),
      Buffer.from(i.virtualMac.split(':').map((x) => Number.parseInt(x, 16))),
      operationsStatus(i.state),
      i.effectivePriority,
      i.addresses.length,
      Math.round(i.advertIntervalMs / 10), // centiseconds
      TRUTH(i.preempt),
      TRUTH(i.acceptMode),
      1, // RowStatus active
    ],
    statistics: [
      ...index,
      i.counters.becameMaster,
      i.state === 'master' ? newMasterReasonCode(i.masterReason) : 0,
      i.counters.advertsReceived,
      d['interval-mismatch'] ?? 0,
      d['bad-ttl'] ?? 0,
      d['bad-type'] ?? 0,
      d['address-mismatch'] ?? 0,
      d['bad-length'] ?? 0,
    ],
  };
}

/** Router-wide counters: drops on the interfaces plus those counted on instances. */
export function routerErrors(s: EngineStatus): { checksum: number; version: number; vrid: number } {
  const sum = (r: 'bad-checksum' | 'bad-version' | 'unknown-vrid') =>
    s.interfaces.reduce((n, p) => n + (p.drops[r] ?? 0), 0) +
    s.instances.reduce((n, i) => n + (i.counters.drops[r] ?? 0), 0);
  return { checksum: sum('bad-checksum'), version: sum('bad-version'), vrid: sum('unknown-vrid') };
}

/** The subagent: connects to snmpd's AgentX master, registers the MIB, keeps the rows current,
 *  and reconnects (every 5 s) when snmpd goes away or is not there yet. */
export class SnmpSubagent {
  private agent: Subagent | undefined;
  private registered = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private rowKeys = new Map<string, number[]>();

  constructor(
    private readonly cfg: SnmpConfig,
    private readonly status: () => EngineStatus,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.connect();
  }

  private connect(): void {
    const a = this.cfg.agentx;
    const agent = snmp.createSubagent({
      master: 'path' in a ? '' : a.host,
      masterPort: 'path' in a ? a.path : a.port,
      description: 'tandem VRRPv3-MIB (RFC 6527)',
    });
    this.agent = agent;
    this.registered = false;
    this.rowKeys.clear();
    const retry = (why: string) => {
      if (this.agent !== agent || this.closed) return;
      this.agent = undefined;
      this.log.warn({ err: why, retryMs: RECONNECT_MS }, 'snmp: AgentX master unreachable');
      this.timer = setTimeout(() => this.connect(), RECONNECT_MS);
      this.timer.unref();
    };
    agent.on('error', (e: Error) => retry(e.message));
    agent.on('close', () => retry('connection closed'));
    agent.open((err) => {
      if (err) return retry(err.message);
      const table = (name: string, oid: string, tableColumns: ColumnDef[], prefix: string) => ({
        name,
        type: snmp.MibProviderType.Table,
        oid,
        maxAccess: NA,
        tableColumns,
        tableIndex: INDEX(prefix),
      });
      const scalar = (name: string, oid: string) => ({
        name,
        type: snmp.MibProviderType.Scalar,
        oid,
        scalarType: T.Counter64,
        maxAccess: RO,
      });
      const providers = [
        table('vrrpv3OperationsTable', OPERATIONS_ENTRY, OPERATIONS_COLUMNS, 'vrrpv3Operations'),
        table('vrrpv3StatisticsTable', STATISTICS_ENTRY, STATISTICS_COLUMNS, 'stats'),
        scalar('vrrpv3RouterChecksumErrors', ROUTER_CHECKSUM_ERRORS),
        scalar('vrrpv3RouterVersionErrors', ROUTER_VERSION_ERRORS),
        scalar('vrrpv3RouterVrIdErrors', ROUTER_VRID_ERRORS),
      ];
      // One Register PDU at a time: net-snmp answers only the first of several in flight.
      const next = (k: number): void => {
        if (this.agent !== agent) return;
        if (k === providers.length) {
          this.registered = true;
          this.log.info({ agentx: 'path' in a ? a.path : `${a.host}:${a.port}` }, 'snmp: VRRPv3-MIB registered');
          this.refresh();
          return;
        }
        const p = providers[k];
        agent.registerProvider(p, (e) => {
          if (e) this.log.error({ err: e.message, provider: p.name }, 'snmp: register failed');
          next(k + 1);
        });
      };
      next(0);
    });
  }

  /** Brings the MIB in line with the latest snapshot (called on every status push). */
  refresh(): void {
    if (!this.agent || !this.registered) return;
    const mib = this.agent.getMib();
    const s = this.status();
    const seen = new Set<string>();
    for (const i of s.instances) {
      // HSRP groups are not VRRP routers (and may number 0 or above 255, outside VrId's range).
      if (i.protocol === 'hsrp') continue;
      const r = rows(i);
      const key = r.index.join('.');
      seen.add(key);
      mib.addTableRow('vrrpv3OperationsTable', r.operations);
      mib.addTableRow('vrrpv3StatisticsTable', r.statistics);
      this.rowKeys.set(key, r.index);
    }
    for (const [key, index] of this.rowKeys) {
      if (seen.has(key)) continue;
      mib.deleteTableRow('vrrpv3OperationsTable', index);
      mib.deleteTableRow('vrrpv3StatisticsTable', index);
      this.rowKeys.delete(key);
    }
    const e = routerErrors(s);
    mib.setScalarValue('vrrpv3RouterChecksumErrors', e.checksum);
    mib.setScalarValue('vrrpv3RouterVersionErrors', e.version);
    mib.setScalarValue('vrrpv3RouterVrIdErrors', e.vrid);
  }

  /** Closes the AgentX session (snmpd drops the registrations) and stops reconnecting. */
  stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const agent = this.agent;
    this.agent = undefined;
    if (!agent) return Promise.resolve();
    return new Promise((resolve) => {
      const done = setTimeout(resolve, 1000);
      done.unref();
      try {
        agent.close(() => {
          clearTimeout(done);
          resolve();
        });
      } catch {
        resolve();
      }
    });
  }
}
