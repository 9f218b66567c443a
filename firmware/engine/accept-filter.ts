// RFC 5798 6.1 Accept_Mode for one instance: while it is master, and unless accept_mode is true or
// it is the address owner (priority 255), a kernel filter drops IP packets addressed to its
// virtual addresses (ARP and ND still answered: drivers/types.ts setVipFilter). Journalled before
// it is installed, so the next start removes it after a crash.
import type { Driver } from '../../drivers/types.ts';
import type { InstanceConfig } from '../config/types.ts';
import type { Journal } from './journal.ts';

/** RFC 5798 6.1: "Accept_Mode ... controls whether a virtual router in Master state will accept
 *  packets addressed to the address owner's IPvX address as its own if it is not the IPvX address
 *  owner". The owner (5.2.4, priority 255) always accepts; so does CARP (carp(4) has no such mode). */
export function wantsVipFilter(c: InstanceConfig): boolean {
  return c.protocol !== 'carp' && !c.acceptMode && c.priority !== 255;
}

/** The filter's name, unique per interface, family and VRID (like the macvlan's name). */
export function vipFilterName(c: InstanceConfig, ifindex: number): string {
  return `${c.protocol === 'carp' ? 'cp' : 'vr'}${c.family}_${ifindex}_${c.vrid}`;
}

export class AcceptFilter {
  private installed = false;

  constructor(
    private readonly name: string,
    private readonly driver: Driver,
    private readonly journal: Journal,
  ) {}

  /** Puts the filter in place for a master (when its config wants one) or takes it away.
   *  Throws DriverError; the caller decides what a failure means. */
  apply(c: InstanceConfig, master: boolean): void {
    if (master && wantsVipFilter(c)) {
      this.journal.recordFilter(this.name);
      this.driver.setVipFilter(
        this.name,
        c.addresses.map((a) => a.address),
      );
      this.installed = true;
    } else if (this.installed) {
      this.driver.removeVipFilter(this.name);
      this.installed = false;
      this.journal.forgetFilter(this.name);
    }
  }
}
