// The BSD Driver: NetBSD first, FreeBSD and OpenBSD from the same tables. Encoded from
// shared/facts/ioctl.md and tested on paper only (docs/netbsd.md says what to run on a real box).
import { openPcapChannel } from '../pcap-channel.ts';
import { DriverError, type Driver } from '../types.ts';
import { LIBC_PATH, abiForArch, type BsdAbi, type BsdOs } from './abi.ts';
import { createBsdBackend, type ChannelOpener, type LibcLoader } from './backend.ts';
import { loadKoffiLibc } from './libc-koffi.ts';

export type { BsdAbi, BsdOs } from './abi.ts';
export type { BsdLibc, ChannelOpener, LibcLoader, RawIfaddr } from './backend.ts';

export interface BsdDriverOptions {
  /** Defaults to the running Node's (process.arch). */
  abi?: BsdAbi;
  /** dlopen path of libc; defaults per OS (abi.ts LIBC_PATH). */
  libcPath?: string;
  /** Packet channels; defaults to the shared libpcap channel (drivers/pcap-channel.ts). */
  openChannel?: ChannelOpener;
  /** Replaces the koffi binding (tests). */
  loadLibc?: LibcLoader;
}

export function createBsdDriver(os: BsdOs, opts: BsdDriverOptions = {}): Driver {
  const abi = opts.abi ?? abiForArch(process.arch);
  if (!abi) throw new DriverError('open-driver', '', 0, 'ENOTSUP', `no ${os} ABI table for ${process.arch}`);
  const libcPath = opts.libcPath ?? LIBC_PATH[os];
  const loadLibc: LibcLoader = opts.loadLibc ?? ((symbols, a) => loadKoffiLibc(symbols, a, { path: libcPath }));
  // libpcap on BPF keeps the frame's source MAC (BIOCSHDRCMPLT), so the VRRP virtual MAC goes
  // out as written even though the NIC's own MAC differs.
  const openChannel: ChannelOpener = opts.openChannel ?? ((ifname, o) => openPcapChannel(ifname, o, os));
  return createBsdBackend(os, { abi, loadLibc, openChannel });
}
