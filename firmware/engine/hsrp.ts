// The HSRP side of an instance: config to machine config, received frames to machine events (with
// the authentication check), and send actions to frames. The Instance (instance.ts) keeps the
// state and performs the actions; this file holds what is HSRP's own.
import type { InstanceConfig } from '../config/types.ts';
import type { HsrpAction, HsrpConfig, HsrpMessage, HsrpState, HsrpStateName } from '../core/hsrp/types.ts';
import {
  encodeHsrpFrame,
  encodeHsrpV1,
  encodeHsrpV2,
  hsrpV1VirtualMac,
  hsrpV2VirtualMac,
  verifyHsrpMd5,
  type DecodedHsrpUdp,
  type HsrpMd5Key,
  type HsrpV1Message,
  type HsrpV2Message,
  type HsrpV2StateName,
} from '../core/packet/index.ts';
import type { VrrpStateName } from '../core/vrrp/types.ts';

export type ReceivedHsrp = Extract<DecodedHsrpUdp, { ok: true }>;

export function toHsrpConfig(c: InstanceConfig, primaryIp: string): HsrpConfig {
  const h = c.hsrp!;
  return {
    group: h.group,
    version: h.version,
    family: c.family,
    priority: c.priority,
    preempt: c.preempt,
    hellotimeMs: h.hellotimeMs,
    holdtimeMs: h.holdtimeMs,
    timersConfigured: h.timersConfigured,
    virtualIp: h.learn ? undefined : c.addresses[0]?.address,
    primaryIp,
  };
}

/** v1 00:00:0c:07:ac:GG (RFC 2281 5.3); v2 00:00:0c:9f:fG:GG (IPv4), 00:05:73:a0:0G:GG (IPv6). */
export function hsrpVirtualMacOf(c: InstanceConfig): string {
  const h = c.hsrp!;
  return h.version === 1 ? hsrpV1VirtualMac(h.group) : hsrpV2VirtualMac(h.group, c.family);
}

/** What the engine's VRRP-shaped logic (sync groups, notify, metrics) sees: Active is master;
 *  Initial is fault when the link is down while running, init otherwise; the rest is backup. */
export function vrrpViewOf(s: Pick<HsrpState, 'name' | 'started' | 'linkUp'>): VrrpStateName {
  if (s.name === 'active') return 'master';
  if (s.name === 'initial') return s.started && !s.linkUp ? 'fault' : 'init';
  return 'backup';
}
export function vrrpViewOfName(n: HsrpStateName, s: Pick<HsrpState, 'started' | 'linkUp'>): VrrpStateName {
  return vrrpViewOf({ name: n, started: s.started, linkUp: s.linkUp });
}

const V2_TO_V1: Record<HsrpV2StateName, HsrpStateName> = {
  init: 'initial',
  learn: 'learn',
  listen: 'listen',
  speak: 'speak',
  standby: 'standby',
  active: 'active',
};
const V1_TO_V2: Record<HsrpStateName, HsrpV2StateName> = {
  initial: 'init',
  learn: 'learn',
  listen: 'listen',
  speak: 'speak',
  standby: 'standby',
  active: 'active',
};

/** Why a received message does not count for this instance, or undefined when it does. */
export function hsrpRejects(c: InstanceConfig, d: ReceivedHsrp): 'bad-version' | 'bad-auth' | undefined {
  const h = c.hsrp!;
  if (d.version !== h.version || d.family !== c.family) return 'bad-version';
  if (h.auth.type === 'md5') return verifyHsrpMd5(d.payload, h.auth.key) ? undefined : 'bad-auth';
  // Text: the 8 bytes must match (RFC 2281 5.1); a message with an MD5 TLV is not ours.
  if (d.message.md5) return 'bad-auth';
  const text = d.version === 1 ? (d.message as HsrpV1Message).auth : ((d.message as HsrpV2Message).auth ?? '');
  return text === h.auth.text ? undefined : 'bad-auth';
}

/** A received v1 or v2 message as the machine reads it. */
export function hsrpMessageOf(d: ReceivedHsrp): HsrpMessage {
  const unset = (ip: string) => ip === '0.0.0.0' || ip === '::';
  if (d.version === 1) {
    const m = d.message as HsrpV1Message;
    return {
      op: m.op,
      state: m.state,
      priority: m.priority,
      hellotimeMs: m.hellotimeS * 1000,
      holdtimeMs: m.holdtimeS * 1000,
      virtualIp: unset(m.virtualIp) ? undefined : m.virtualIp,
    };
  }
  const m = d.message as HsrpV2Message;
  return {
    op: m.op,
    state: V2_TO_V1[m.state],
    priority: m.priority,
    hellotimeMs: m.hellotimeMs,
    holdtimeMs: m.holdtimeMs,
    virtualIp: unset(m.virtualIp) ? undefined : m.virtualIp,
  };
}

/** The frame for a send action. Source MAC: the virtual MAC while active when mac_mode moves
 *  the MAC (RFC 2281 5.3: the active router's Hellos come from the virtual MAC), else the NIC's. */
export function encodeHsrpSend(
  c: InstanceConfig,
  a: Extract<HsrpAction, { type: 'send' }>,
  o: { primaryIp: string; nicMac: string; vmac: string },
): Uint8Array {
  const h = c.hsrp!;
  const srcMac = a.state === 'active' && c.macMode !== 'none' ? o.vmac : o.nicMac;
  const md5: HsrpMd5Key | undefined =
    h.auth.type === 'md5'
      ? { key: h.auth.key, keyId: h.auth.keyId, ip: c.family === 4 ? o.primaryIp : '0.0.0.0' }
      : undefined;
  const text = h.auth.type === 'text' ? h.auth.text : '';
  const vip = a.virtualIp ?? (c.family === 4 ? '0.0.0.0' : '::');
  const payload =
    h.version === 1
      ? encodeHsrpV1(
          {
            op: a.op,
            state: a.state,
            hellotimeS: Math.min(255, Math.round(a.hellotimeMs / 1000)),
            holdtimeS: Math.min(255, Math.round(a.holdtimeMs / 1000)),
            priority: a.priority,
            group: h.group,
            auth: text,
            virtualIp: vip,
          },
          md5,
        )
      : encodeHsrpV2(
          {
            op: a.op,
            state: V1_TO_V2[a.state],
            family: c.family,
            group: h.group,
            identifier: o.nicMac,
            priority: a.priority,
            hellotimeMs: a.hellotimeMs,
            holdtimeMs: a.holdtimeMs,
            virtualIp: vip,
            ...(md5 ? {} : { auth: text }),
          },
          md5,
        );
  return encodeHsrpFrame({ srcMac, family: c.family, version: h.version, src: o.primaryIp, payload });
}
