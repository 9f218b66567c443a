// The BSD Driver: NetBSD first, FreeBSD and OpenBSD from the same tables. Encoded from
// shared/facts/ioctl.md and tested on paper only (docs/netbsd.md says what to run on a real box).
import { DriverError, type Driver } from '../types.ts';
import { LIBC_PATH, abiForArch, type BsdAbi, type BsdOs } from './abi.ts';
import { createBsdBackend, type ChannelOpener, type LibcLoader } from './backend.ts';
import { loadKoffiLibc } from './libc-koffi.ts';

export type { BsdAbi, BsdOs } from './abi.ts';
export type { BsdLibc, ChannelOpener, LibcLoader, RawIfaddr } from './backend.ts';

export interface BsdDriverOptions {
  /** Defaults to the running Node's (process.arch). */
  abi?: BsdAbi;
  /** dlopen path of libc; defaults per OS. */
  libcPath?: string;
  /** Packet channels; defaults to drivers/pcap-channel.ts once loadPcapChannel() has resolved. */
  openChannel?: ChannelOpener;
  /** Replaces the koffi binding (tests). */
  loadLibc?: LibcLoader;
}

// drivers/pcap-channel.ts belongs to the Linux driver's engineer and may not exist yet: it is
// imported lazily through a variable so neither tsc nor the bundler insists on it.
const PCAP_CHANNEL_MODULE: string = '../pcap-channel.ts';
let pcapOpener: ChannelOpener | null = null;
let pcapLoading: Promise<ChannelOpener | null> | null = null;

/** Picks the opener out of the pcap-channel module, whichever of the usual shapes it exports. */
export function pickChannelOpener(mod: Record<string, unknown>): ChannelOpener | null {
  for (const name of ['openPcapChannel', 'openChannel', 'createPcapChannel']) {
    const f = mod[name];
    if (typeof f === 'function') return f as ChannelOpener;
  }
  const cls = mod.PcapChannel;
  if (typeof cls === 'function') return (ifname, opts) => new (cls as new (i: string, o?: unknown) => ReturnType<ChannelOpener>)(ifname, opts);
  return null;
}

/** Loads the shared pcap channel once; resolves null when the module is absent. */
export function loadPcapChannel(): Promise<ChannelOpener | null> {
  pcapLoading ??= import(new URL(PCAP_CHANNEL_MODULE, import.meta.url).href).then(
    (m: Record<string, unknown>) => (pcapOpener = pickChannelOpener(m)),
    () => null,
  );
  return pcapLoading;
}

export function createBsdDriver(os: BsdOs, opts: BsdDriverOptions = {}): Driver {
  const abi = opts.abi ?? abiForArch(process.arch);
  if (!abi) throw new DriverError('open-driver', '', 0, 'ENOTSUP', `no ${os} ABI table for ${process.arch}`);
  const libcPath = opts.libcPath ?? LIBC_PATH[os];
  const loadLibc: LibcLoader = opts.loadLibc ?? ((symbols, a) => loadKoffiLibc(symbols, a, { path: libcPath }));
  if (!opts.openChannel) void loadPcapChannel();
  const openChannel: ChannelOpener = opts.openChannel ?? ((ifname, o) => {
    if (!pcapOpener) throw new DriverError('open-channel', ifname, 0, 'ENOTSUP', 'drivers/pcap-channel.ts not loaded: await loadPcapChannel() first');
    return pcapOpener(ifname, o);
  });
  return createBsdBackend(os, { abi, loadLibc, openChannel });
}

/** createBsdDriver after the packet-channel module has been loaded. */
export async function openBsdDriver(os: BsdOs, opts: BsdDriverOptions = {}): Promise<Driver> {
  if (!opts.openChannel) await loadPcapChannel();
  return createBsdDriver(os, opts);
}
