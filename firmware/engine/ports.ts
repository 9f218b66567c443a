// One capture per interface, shared by every instance on it: decodes each frame once and hands
// a VRRP advert to the instance it is for (RFC 5798 7.1 checks that need the instance's config
// are made here or in the state machine; the decoder has made the rest).
import type { PacketChannel } from '../../drivers/types.ts';
import type { InstanceConfig } from '../config/types.ts';
import { decodeFrame, simplePasswordAuthData } from '../core/packet/index.ts';
import type { CountedDrop, DropCounts, PortStatus } from '../core/status.ts';
import { refuseSource } from './accept-from.ts';
import type { Instance } from './instance.ts';
import { RepeatAdverts } from './repeat-advert.ts';

const keyOf = (family: 4 | 6, vrid: number) => `${family}:${vrid}`;
/** CARP shares protocol 112 and the group with VRRP but numbers its virtual hosts on its own. */
const carpKeyOf = (family: 4 | 6, vhid: number) => `carp:${family}:${vhid}`;
/** HSRP groups are numbered per version and family (RFC 2281; v2 to 4095). */
const hsrpKeyOf = (version: 1 | 2, family: 4 | 6, group: number) => `hsrp${version}:${family}:${group}`;
const instKey = (inst: Instance) =>
  inst.cfg.protocol === 'hsrp'
    ? hsrpKeyOf(inst.cfg.hsrp!.version, inst.cfg.family, inst.cfg.vrid)
    : inst.cfg.protocol === 'carp'
      ? carpKeyOf(inst.cfg.family, inst.cfg.vrid)
      : keyOf(inst.cfg.family, inst.cfg.vrid);

export class Port {
  readonly drops: DropCounts = {};
  private readonly byKey = new Map<string, Instance>();
  /** Exact repeats of a master's advert skip the decode (issue #15). */
  readonly repeats = new RepeatAdverts();

  /** HSRP's capture (UDP 1985/2029 and its groups), opened only once an HSRP instance is here. */
  private hsrpChannel: PacketChannel | undefined;

  constructor(
    readonly ifname: string,
    readonly channel: PacketChannel,
  ) {
    channel.onFrame((f) => this.receive(f));
  }

  get capturesHsrp(): boolean {
    return this.hsrpChannel !== undefined;
  }

  /** A second, receive-only capture for HSRP: frames go through the same receive(); sending
   *  stays on the main channel. */
  addHsrpCapture(ch: PacketChannel): void {
    this.hsrpChannel?.close();
    this.hsrpChannel = ch;
    ch.onFrame((f) => this.receive(f));
  }

  close(): void {
    this.channel.close();
    this.hsrpChannel?.close();
    this.hsrpChannel = undefined;
  }

  get size(): number {
    return this.byKey.size;
  }

  add(inst: Instance): void {
    const replaced = this.byKey.get(instKey(inst));
    if (replaced) this.repeats.forget(replaced);
    this.byKey.set(instKey(inst), inst);
  }

  /** Removes `inst` only if it is still the one registered for its VRID (a reload may have
   *  registered its replacement already). */
  remove(inst: Instance): void {
    const k = instKey(inst);
    if (this.byKey.get(k) === inst) this.byKey.delete(k);
    this.repeats.forget(inst);
  }

  private count(reason: CountedDrop): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  receive(frame: Uint8Array): void {
    if (this.repeats.take(frame)) return;
    const d = decodeFrame(frame);
    if (!d.ok) {
      this.count(d.reason);
      return;
    }
    // Instances run on untagged interfaces (a VLAN is its own interface, eth0.100, with its own
    // capture): a tagged frame seen on this one belongs to another VLAN of a trunk.
    if (d.eth.vlan !== undefined) {
      this.count('vlan-tagged');
      return;
    }
    if (d.kind === 'hsrp') {
      // HSRP on UDP: a group no instance here runs is counted under its own reason.
      const inst = this.byKey.get(hsrpKeyOf(d.version, d.family, d.message.group));
      if (!inst) this.count('hsrp-message');
      else if (d.src !== inst.primaryIp) inst.receiveHsrp(d);
      return;
    }
    if (d.kind === 'carp') {
      // A mixed segment stays quiet: CARP adverts no CARP instance here wants are counted under
      // their own reason, not as a VRRP error.
      const inst = this.byKey.get(carpKeyOf(d.family, d.carp.vhid));
      if (!inst) this.count('carp-advert');
      else if (d.src !== inst.primaryIp) inst.receiveCarp(d.src, d.carp);
      return;
    }
    if (d.kind !== 'vrrp') return;
    const inst = this.byKey.get(keyOf(d.family, d.advert.vrid));
    if (!inst) {
      this.count(this.byKey.has(carpKeyOf(d.family, d.advert.vrid)) ? 'vrrp-advert' : 'unknown-vrid');
      return;
    }
    if (d.src === inst.primaryIp) {
      // Expected, not a drop: the outgoing copies of unicast adverts (they leave through the
      // kernel), and on BPF our own multicast frames too (channel.echoesSends). A Linux packet
      // socket never hands back what it injected, so there this is somebody using our address.
      if (!inst.cfg.unicastPeers.length && !this.channel.echoesSends) inst.drop('own-packet');
      return;
    }
    const refused = refuseSource(inst.cfg.acceptFrom, d.src, d.eth.src);
    if (refused) {
      inst.drop(refused);
      return;
    }
    if (d.advert.version !== inst.cfg.version) {
      inst.drop('bad-version');
      return;
    }
    if (inst.cfg.version === 2 && !authMatches(inst.cfg, d.advert.authType, d.advert.authData)) {
      inst.drop('bad-auth');
      return;
    }
    const plain = inst.receive(d.src, d.advert, d.checksumForm);
    if (plain) this.repeats.remember(frame, inst, plain);
  }

  status(): PortStatus {
    return { name: this.ifname, drops: { ...this.drops }, captureDropped: this.channel.dropped() };
  }
}

/** RFC 3768 dropped authentication; RFC 2338 peers may still send simple text (type 1). */
export function authMatches(c: InstanceConfig, type: number | undefined, data: Uint8Array | undefined): boolean {
  if (c.auth.type === 'none') return type === 0 || type === undefined;
  if (type !== 1 || !data) return false;
  const want = simplePasswordAuthData(c.auth.password);
  return want.every((b, i) => b === data[i]);
}
