// PacketChannel on the `pcap` npm package (libpcap). Shared by the Linux and BSD backends.
//
// What the package gives and what it does not (node_modules/pcap/pcap_session.cc):
// - buffer_timeout 0 makes it call pcap_set_immediate_mode(1): each frame is handed over as it
//   arrives, with no batching delay (TPACKET_V3's block timeout on Linux, BIOCIMMEDIATE on BPF).
// - It polls the descriptor with a libuv poll and dispatches on the event loop; frames arrive
//   in the package's one reused buffer, so we copy each one out.
// - No pcap_setdirection(). On Linux the kernel does not hand a packet socket the frames it
//   injected itself, so our own sends are not captured; frames sent by another channel on the
//   same interface are (outgoing copies). On BSD, BPF shows our own sends too (BIOCSSEESENT
//   defaults to 1). libpcap's "inbound" filter keyword is not used: with libpcap 1.10.3 on Linux
//   it rejects incoming frames in the userland re-check (seen with tcpdump as well).
// - close() only sets pcap_breakloop(); a non-blocking pcap_dispatch with nothing queued never
//   sees it, so the libpcap handle (and its ref'd poll) lives until one more frame arrives or the
//   process exits. We stop delivering at once; the daemon exits its process when it stops.
import { createRequire } from 'node:module';
import type { OsName, PacketChannel, PacketChannelOptions } from './types.ts';
import { DriverError, errnoHint } from './types.ts';

interface PcapSession {
  on(ev: 'packet', cb: (p: { buf: Buffer; header: Buffer }) => void): void;
  inject(b: Buffer): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  close(): void;
}
interface PcapModule {
  createSession(device: string, o: Record<string, unknown>): PcapSession;
  warningHandler: (msg: string) => void;
}

let pcapModule: PcapModule | null = null;
function loadPcap(): PcapModule {
  if (!pcapModule) {
    pcapModule = createRequire(import.meta.url)('pcap') as PcapModule;
    // Its only warning is "no IPv4 address assigned" (pcap_lookupnet), harmless for our filters.
    pcapModule.warningHandler = () => {};
  }
  return pcapModule;
}

/** IP protocol 112: VRRP (RFC 5798 5.1.1.4, RFC 3768); Linux headers do not name it. */
export const VRRP_FILTER = 'ip proto 112 or ip6 proto 112';
/** HSRP: UDP 1985 over IPv4 (v1 and v2), UDP 2029 over IPv6 (v2). */
export const HSRP_FILTER = '(ip and udp dst port 1985) or (ip6 and udp dst port 2029)';
/** The groups HSRP sends to (RFC 2281 5.1; v2 over IPv4 and IPv6). */
export const HSRP_GROUPS = ['224.0.0.2', '224.0.0.102', 'ff02::66'];
/** ARP, and ICMPv6 Neighbor Solicitation (type 135) with no extension header before it. */
export const NEIGHBOR_FILTER = 'arp or (icmp6 and ip6[40] == 135)';

/** The libpcap filter for `opts`, or null when it would capture nothing. */
export function channelFilter(opts: PacketChannelOptions = {}): string | null {
  if (opts.filter !== undefined) return opts.filter;
  const parts: string[] = [];
  if (opts.vrrp !== false) parts.push(VRRP_FILTER);
  if (opts.hsrp) parts.push(HSRP_FILTER);
  if (opts.neighbor) parts.push(NEIGHBOR_FILTER);
  return parts.length ? parts.map((p) => `(${p})`).join(' or ') : null;
}

/** libpcap's capture buffer per channel. Immediate mode makes libpcap use TPACKET_V2, one fixed
 *  slot per frame, and 251 masters' adverts arrive in one burst: 512 KiB would save 3 MB of RSS
 *  but the one bench run with it had false takeovers at 251 instances (docs/benchmarks.md), so
 *  it stays at 2 MiB until a capture that reads in batches replaces this one. */
export const CAPTURE_BUFFER_BYTES = 2 * 1024 * 1024;

/** Smallest frame we hand to the NIC: an Ethernet header (14). Padding to 60 is the NIC's job. */
const ETHER_HEADER = 14;

function openError(op: string, ifname: string, e: unknown): DriverError {
  const msg = e instanceof Error ? e.message : String(e);
  const code = /no such device|doesn't exist|SIOCGIFINDEX/i.test(msg)
    ? 'ENODEV'
    : /not permitted|permission|EPERM|EACCES/i.test(msg)
      ? 'EPERM'
      : /syntax|filter|parse/i.test(msg)
        ? 'EINVAL'
        : 'EIO';
  const hint = [errnoHint(code), `libpcap: ${msg}`].filter(Boolean).join('; ');
  return new DriverError(op, ifname, 0, code, hint);
}

export function openPcapChannel(ifname: string, opts: PacketChannelOptions = {}, os: OsName = 'linux'): PacketChannel {
  const filter = channelFilter(opts);
  if (filter === null)
    throw new DriverError('open-channel', ifname, 0, 'EINVAL', 'vrrp and neighbor both off: nothing to capture');
  let session: PcapSession;
  try {
    session = loadPcap().createSession(ifname, {
      filter,
      buffer_timeout: 0, // <= 0: immediate mode
      // The kernel ring, mapped into the process (counts in RSS: ~4 MB per channel at 2 MiB).
      buffer_size: CAPTURE_BUFFER_BYTES,
      snap_length: 65535,
      promiscuous: opts.promiscuous === true,
    });
  } catch (e) {
    throw openError('open-channel', ifname, e);
  }
  const listeners: Array<(frame: Uint8Array) => void> = [];
  let open = true;
  let lastDropped = 0;
  session.on('packet', (p) => {
    if (!open) return;
    const caplen = p.header.readUInt32LE(8); // pcap_session.cc: caplen @8, host order
    const frame = new Uint8Array(p.buf.subarray(0, Math.min(caplen, p.buf.length))); // a copy
    for (const cb of listeners) cb(frame);
  });
  return {
    ifname,
    send(frame: Uint8Array): void {
      if (!open) throw new DriverError('send', ifname, 0, 'EBADF', 'channel closed');
      if (frame.length < ETHER_HEADER)
        throw new DriverError(
          'send',
          ifname,
          0,
          'EINVAL',
          `frame of ${frame.length} bytes is shorter than an Ethernet header`,
        );
      try {
        session.inject(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
      } catch (e) {
        // The package reports only "Pcap inject failed." (no errno): link down, too long, ...
        throw new DriverError(
          'send',
          ifname,
          0,
          'EIO',
          `libpcap: ${(e as Error).message} (${os}; link down or frame too long?)`,
        );
      }
    },
    onFrame(cb: (frame: Uint8Array) => void): void {
      listeners.push(cb);
    },
    dropped(): number {
      if (open) {
        try {
          lastDropped = session.stats().ps_drop;
        } catch {
          /* closed under us */
        }
      }
      return lastDropped;
    },
    close(): void {
      if (!open) return;
      try {
        lastDropped = session.stats().ps_drop;
      } catch {
        /* ignore */
      }
      open = false;
      listeners.length = 0;
      session.close();
    },
  };
}
