// RFC 5798 6.1 Accept_Mode false on Linux: an nftables chain per virtual router, in tandem's own
// table, that drops IP packets addressed to its virtual addresses. ARP is not IP (the inet family
// never sees it) and the IPv6 Neighbor Discovery messages are let through before the drop, so the
// master still answers for the addresses (RFC 5798 6.4.3: it MUST respond to ARP / NS for them).
//
// The commands go through libnftables (`libnftables.so.1`, Debian's libnftables1) in-process, one
// context kept for the driver's life: a change costs ~1 ms there against ~30 ms for a fresh `nft`
// process (../shared measurements), and a transition to master should not wait on a fork.
import { DriverError } from '../types.ts';
import { nftClose, nftRun } from './nftables.ts';

/** tandem's own table: nothing else of the system's ruleset is touched. */
export const VIP_FILTER_TABLE = 'tandem_accept';

/** Chain names tandem makes (`vr4_3_51`): letters, digits and underscores only, so they need no
 *  quoting in the nft language. */
const CHAIN_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** Below the usual `filter` priority 0, so the drop happens whatever a later chain accepts. */
const HOOK = 'type filter hook input priority -10; policy accept;';

function chainCheck(name: string): void {
  if (!CHAIN_NAME.test(name)) throw new DriverError('vip-filter', name, 0, 'EINVAL', 'not a valid filter name');
}

/** The nft script that (re)creates the chain `name` dropping packets to `addresses` (one family
 *  or both). Atomic: nft applies a buffer as one transaction. */
export function vipFilterScript(name: string, addresses: readonly string[]): string {
  chainCheck(name);
  const v4 = addresses.filter((a) => !a.includes(':'));
  const v6 = addresses.filter((a) => a.includes(':'));
  const lines = [
    `add table inet ${VIP_FILTER_TABLE}`,
    `add chain inet ${VIP_FILTER_TABLE} ${name} { ${HOOK} }`,
    `flush chain inet ${VIP_FILTER_TABLE} ${name}`,
  ];
  if (v4.length) lines.push(`add rule inet ${VIP_FILTER_TABLE} ${name} ip daddr { ${v4.join(', ')} } drop`);
  if (v6.length) {
    // Unicast NS (NUD) and NA can be addressed to the virtual address itself: answer them.
    lines.push(
      `add rule inet ${VIP_FILTER_TABLE} ${name} ip6 daddr { ${v6.join(', ')} } icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept`,
      `add rule inet ${VIP_FILTER_TABLE} ${name} ip6 daddr { ${v6.join(', ')} } drop`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Removes the chain `name` whether or not it exists (add-then-delete in one transaction: nft
 *  1.0.6 has no `destroy`), and the table with it when the table would be left empty. */
export function vipFilterRemoveScript(name: string, lastOne: boolean): string {
  chainCheck(name);
  const lines = [`add table inet ${VIP_FILTER_TABLE}`];
  if (lastOne) lines.push(`delete table inet ${VIP_FILTER_TABLE}`);
  else {
    lines.push(
      `add chain inet ${VIP_FILTER_TABLE} ${name} { ${HOOK} }`,
      `flush chain inet ${VIP_FILTER_TABLE} ${name}`,
      `delete chain inet ${VIP_FILTER_TABLE} ${name}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The Accept_Mode filters' door to nftables: the one libnftables context of nftables.ts (the
 *  cluster data path shares it), so one process binds libnftables once. */
export class Nft {
  /** Runs an nft script; returns its output. Throws DriverError with nft's own message. */
  run(script: string, op = 'vip-filter'): string {
    return nftRun(op, VIP_FILTER_TABLE, script);
  }

  close(): void {
    nftClose();
  }
}

/** The chains of tandem's table that `vipFilterScript` made, tracked by the driver so that the
 *  table goes with its last chain. Crash leftovers are found by the journal, not here. */
export class VipFilters {
  private readonly names = new Set<string>();
  constructor(private readonly nft: Nft) {}

  set(name: string, addresses: readonly string[]): void {
    this.nft.run(vipFilterScript(name, addresses));
    this.names.add(name);
  }

  remove(name: string): void {
    this.names.delete(name);
    this.nft.run(vipFilterRemoveScript(name, this.names.size === 0 && !this.othersInTable(name)));
  }

  /** Chains in the table not made by this process (another run's leftovers being undone, or a
   *  chain made by hand): the table is kept while any exists. */
  private othersInTable(name: string): boolean {
    let listing: string;
    try {
      listing = this.nft.run(`list table inet ${VIP_FILTER_TABLE}\n`);
    } catch {
      return false; // no table: nothing else in it
    }
    return [...listing.matchAll(/^\s*chain (\S+) \{/gm)].some((m) => m[1] !== name);
  }

  close(): void {
    this.nft.close();
  }
}
