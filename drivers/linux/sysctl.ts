// Per-interface sysctls (Documentation/networking/ip-sysctl.rst): the only files under /proc/sys
// tandem writes. The path is built here from a fixed name list and a checked interface name, so
// nothing from outside (a config, a crash journal) can steer a write elsewhere.
import { readFileSync, writeFileSync } from 'node:fs';
import type { InterfaceSettingName } from '../types.ts';
import { DriverError, errnoHint } from '../types.ts';

const FAMILY: Record<InterfaceSettingName, 'ipv4' | 'ipv6'> = {
  arp_ignore: 'ipv4',
  arp_announce: 'ipv4',
  disable_ipv6: 'ipv6',
  addr_gen_mode: 'ipv6',
};

/** IFNAMSIZ is 16 with the NUL (include/uapi/linux/if.h); dev_valid_name() refuses '/', ':', blanks and "."/"..". */
export function validIfname(ifname: string): boolean {
  return /^[^/:\s]{1,15}$/.test(ifname) && ifname !== '.' && ifname !== '..';
}

export function sysctlPath(ifname: string, name: InterfaceSettingName): string {
  if (!validIfname(ifname)) throw new DriverError('sysctl', ifname, 0, 'EINVAL', 'not a valid interface name');
  return `/proc/sys/net/${FAMILY[name]}/conf/${ifname}/${name}`;
}

function fail(op: string, ifname: string, e: unknown): DriverError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  // A missing /proc/sys/.../conf/IF directory means the interface does not exist.
  const named = code === 'ENOENT' ? 'ENODEV' : code;
  return new DriverError(op, ifname, 0, named, errnoHint(named));
}

export function readInterfaceSysctl(ifname: string, name: InterfaceSettingName): string {
  const path = sysctlPath(ifname, name);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw fail(`read ${name}`, ifname, e);
  }
}

export function writeInterfaceSysctl(ifname: string, name: InterfaceSettingName, value: string): void {
  const path = sysctlPath(ifname, name);
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw fail(`set ${name}`, ifname, e);
  }
}
