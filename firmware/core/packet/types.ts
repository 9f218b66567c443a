// Wire-level types shared by the codecs, the state machine and the daemon. Pure data, no I/O.
//
// Conventions: MAC addresses are lower-case "aa:bb:cc:dd:ee:ff" strings; IP addresses are
// canonical strings ("192.0.2.1", "2001:db8::1" as produced by formatIp); frames are Uint8Array.

import type { DecodedHsrpUdp } from './hsrp-frame.ts';

export type Family = 4 | 6;
export type VrrpVersion = 2 | 3;

/** IANA protocol number of VRRP (RFC 5798 5.1.1.4); Linux headers do not define it. */
export const IPPROTO_VRRP = 112;
/** Multicast destinations of advertisements (RFC 5798 5.1.1.2 / 5.1.2.2). */
export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';
/** VRRP packet type ADVERTISEMENT, the only one defined (RFC 5798 5.2.2). */
export const VRRP_TYPE_ADVERTISEMENT = 1;

/**
 * How the VRRPv3 checksum over IPv4 was (or is to be) computed. RFC 5798 5.2.8 includes the IPv4
 * pseudo-header (keepalived and FRR default); RFC 9568 and Cisco/Juniper cover only the VRRP
 * message. VRRPv2 never uses a pseudo-header; VRRPv3 over IPv6 always does.
 */
export type ChecksumForm = 'pseudo-header' | 'vrrp-only';

/** One VRRP advertisement, version-independent. */
export interface VrrpAdvert {
  version: VrrpVersion;
  vrid: number; // 1..255
  priority: number; // 0..255
  /** v3: Max Adver Int (12 bits, centiseconds). v2: Adver Int in seconds x 100. */
  maxAdverIntervalCs: number;
  addresses: string[]; // IPvX addresses, all of the packet's family
  /** v2 only (RFC 3768 5.3.6, RFC 2338): 0 none, 1 simple text, 2 IP AH. */
  authType?: number;
  /** v2 only: the 8 bytes of Authentication Data. */
  authData?: Uint8Array;
}

/** One CARP advertisement (OpenBSD ip_carp.h struct carp_header). */
export interface CarpAdvert {
  vhid: number; // 1..255
  advbase: number; // seconds, 0..255
  advskew: number; // 1/256 s, 0..255
  demote: number; // OpenBSD's demotion counter; 0 from FreeBSD and ucarp
  counter: bigint; // 64-bit replay counter (ucarp: random start, +1 per advert)
  md: Uint8Array; // 20-byte HMAC-SHA1
}

/** Why a received frame was dropped. Counted per reason by the daemon; never thrown. */
export type DropReason =
  | 'too-short' // shorter than a header it claims to carry
  | 'bad-ethertype' // not IPv4/IPv6/ARP (after an optional 802.1Q tag)
  | 'bad-ip-header' // IP version/IHL/total length inconsistent
  | 'bad-ip-checksum' // IPv4 header checksum wrong
  | 'not-vrrp' // IP protocol / next header not 112
  | 'bad-ttl' // TTL / Hop Limit not 255 (RFC 5798 7.1)
  | 'bad-version' // VRRP version not 2 or 3, or not the one configured
  | 'bad-type' // VRRP type not ADVERTISEMENT
  | 'bad-checksum' // VRRP checksum matches neither form
  | 'bad-length' // VRRP length inconsistent with Count IPvX Addrs
  | 'address-count' // Count IPvX Addrs zero (v3: the list must not be empty)
  | 'bad-auth' // v2 authentication type/data disagree with ours
  | 'unknown-vrid' // no instance for this VRID on this interface
  | 'interval-mismatch' // v2 Adver Int differs from ours (RFC 3768 7.1)
  | 'address-mismatch' // address list differs from ours and sender is not the owner
  | 'own-packet' // our own advertisement looped back
  | 'carp-advert' // a CARP advert on a segment where we run no CARP instance for its VHID
  | 'vrrp-advert' // a VRRP advert for a number only a CARP instance uses here
  | 'hsrp-message' // an HSRP message for a group no HSRP instance here runs
  | 'bad-arp' // malformed ARP
  | 'bad-icmpv6' // malformed ICMPv6 / ND
  | 'vlan-tagged' // an 802.1Q-tagged frame on an interface whose instances are untagged (another VLAN)
  | 'source-not-accepted' // an advert from an address not in the instance's accept_from
  | 'source-mac-mismatch'; // an accept_from address with a pinned MAC, from another Ethernet source

export interface EthernetHeader {
  dst: string;
  src: string;
  vlan?: number; // 802.1Q VLAN id when a tag was present
  etherType: number;
}

export interface ArpPacket {
  op: 1 | 2; // request, reply
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface NeighborPacket {
  type: 135 | 136; // Neighbor Solicitation, Neighbor Advertisement
  src: string; // IPv6 source
  dst: string; // IPv6 destination
  target: string;
  /** NA flags (RFC 4861 4.4): router, solicited, override. */
  router?: boolean;
  solicited?: boolean;
  override?: boolean;
  /** Source (NS) or Target (NA) Link-Layer Address option, when present. */
  linkAddr?: string;
}

/** A decoded frame, or why it was dropped. Decoding never throws. */
export type Decoded =
  | {
      ok: true;
      kind: 'vrrp';
      eth: EthernetHeader;
      family: Family;
      src: string;
      dst: string;
      ttl: number;
      advert: VrrpAdvert;
      checksumForm: ChecksumForm;
    }
  | { ok: true; kind: 'carp'; eth: EthernetHeader; family: Family; src: string; dst: string; carp: CarpAdvert }
  | ({ ok: true; kind: 'hsrp'; eth: EthernetHeader } & Omit<Extract<DecodedHsrpUdp, { ok: true }>, 'ok'>)
  | { ok: true; kind: 'arp'; eth: EthernetHeader; arp: ArpPacket }
  | { ok: true; kind: 'nd'; eth: EthernetHeader; nd: NeighborPacket }
  | { ok: false; reason: DropReason; detail: string };
