// Wire sizes and numbers the codecs rely on. Pinned by test/unit/packet-sizes.test.ts, as CARP
// pins sizeof(struct carp_header): a change here changes the wire.

/** Ethernet II header: destination, source, EtherType (IEEE 802.3 clause 3). */
export const ETH_HEADER_LEN = 14;
/** IEEE 802.1Q tag: TPID 0x8100 + TCI, inserted before the EtherType. */
export const VLAN_TAG_LEN = 4;
/** Shortest Ethernet frame without FCS; senders pad, receivers ignore the padding. */
export const ETH_MIN_FRAME_LEN = 60;
export const MAC_LEN = 6;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

/** IPv4 header without options (RFC 791 3.1). */
export const IPV4_HEADER_LEN = 20;
/** IPv6 fixed header (RFC 8200 3). */
export const IPV6_HEADER_LEN = 40;
export const IPV4_ADDR_LEN = 4;
export const IPV6_ADDR_LEN = 16;
/** VRRP fixed header, both versions (RFC 3768 5.1, RFC 5798 5.1). */
export const VRRP_HEADER_LEN = 8;
/** VRRPv2 Authentication Data after the address list (RFC 3768 5.3.10, RFC 2338 5.3.10). */
export const VRRP_V2_AUTH_LEN = 8;
/** Required TTL / Hop Limit of VRRP and ND packets (RFC 5798 5.1.1.3, RFC 4861 7.1). */
export const VRRP_TTL = 255;
export const ND_HOP_LIMIT = 255;
/** VRRPv3 Max Adver Int is 12 bits of centiseconds (RFC 5798 5.2.7). */
export const VRRP_V3_MAX_ADVER_INT_CS = 0x0fff;
/** VRRPv2 Adver Int is 8 bits of seconds (RFC 3768 5.3.7). */
export const VRRP_V2_MAX_ADVER_INT_S = 0xff;

/** ARP for IPv4 over Ethernet: 8-byte header + 2 x (6 + 4) addresses (RFC 826). */
export const ARP_IPV4_LEN = 28;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

export const IPPROTO_ICMPV6 = 58;
export const ICMPV6_NEIGHBOR_SOLICIT = 135;
export const ICMPV6_NEIGHBOR_ADVERT = 136;
/** NS / NA: type, code, checksum, 4 bytes flags/reserved, 16-byte target (RFC 4861 4.3, 4.4). */
export const ND_MESSAGE_LEN = 24;
/** Source/Target Link-Layer Address option for Ethernet: 1 unit of 8 bytes (RFC 4861 4.6.1). */
export const ND_LLA_OPTION_LEN = 8;
export const ND_OPT_SOURCE_LLA = 1;
export const ND_OPT_TARGET_LLA = 2;
/** NA flags in the first byte after the checksum (RFC 4861 4.4). */
export const ND_NA_FLAG_ROUTER = 0x80;
export const ND_NA_FLAG_SOLICITED = 0x40;
export const ND_NA_FLAG_OVERRIDE = 0x20;

/** IPv4 Type of Service sent with adverts: precedence 6, Internetwork Control, as keepalived does. */
export const VRRP_IPV4_TOS = 0xc0;

/** struct carp_header (OpenBSD ip_carp.h): 8 bytes + 8-byte counter + 20-byte SHA-1 HMAC. */
export const CARP_HEADER_LEN = 36;
export const CARP_VERSION = 2;
export const CARP_TYPE_ADVERTISEMENT = 1;
/** carp_authlen: counter + HMAC in 32-bit words. */
export const CARP_AUTHLEN = 7;
/** sc_key[CARP_KEY_LEN]: the passphrase, zero padded. */
export const CARP_KEY_LEN = 20;
/** CARP_DFLTTL: adverts are sent with TTL 255 and others are dropped. */
export const CARP_TTL = 255;
/** ip_carp.c sets IPTOS_LOWDELAY on IPv4 adverts. */
export const CARP_IPV4_TOS = 0x10;
