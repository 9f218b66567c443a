// tandem's packet codecs: pure, portable (Uint8Array/DataView only), never throwing on input.
export * from './types.ts';
export * from './constants.ts';
export {
  parseMac,
  formatMac,
  parseIp,
  formatIp,
  virtualMac,
  multicastMac,
  solicitedNodeAddress,
  toHex,
  fromHex,
} from './addr.ts';
export { onesComplementSum, internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from './checksum.ts';
export { encodeAdvert, decodeAdvert, advertLength, simplePasswordAuthData } from './vrrp.ts';
export type { IpArg, AdvertContext, EncodeAdvertContext, DecodeAdvertContext, DecodedAdvert } from './vrrp.ts';
export { writeEthernet, readEthernet, padFrame } from './ether.ts';
export { encodeVrrpFrame, decodeFrame } from './frame.ts';
export type { VrrpFrameOptions } from './frame.ts';
export { encodeArp, encodeGratuitousArp, decodeArp, BROADCAST_MAC, ZERO_MAC } from './arp.ts';
export type { ArpOptions } from './arp.ts';
export { encodeNeighborAdvert, encodeNeighborSolicit, decodeNd, ALL_NODES_V6 } from './nd.ts';
export type { NeighborAdvertOptions, NeighborSolicitOptions } from './nd.ts';
export {
  encodeCarp,
  decodeCarp,
  verifyCarp,
  carpHmac,
  carpKey,
  counterBytes,
  looksLikeCarp,
  encodeCarpFrame,
  carpVirtualMac,
} from './carp.ts';
export type { CarpAuth, DecodedCarp, CarpFrameOptions } from './carp.ts';
export { sha1, hmacSha1 } from './sha1.ts';
export {
  decodeBfd,
  encodeBfd,
  bfdDiagName,
  BFD_CONTROL_PORT,
  BFD_SOURCE_PORT_MIN,
  BFD_SOURCE_PORT_MAX,
  BFD_TTL,
  BFD_HEADER_LEN,
  BFD_VERSION,
  BFD_STATES,
  BFD_DIAG_NAMES,
} from './bfd.ts';
export type { BfdControl, BfdStateName, BfdDiagName, BfdDropReason, DecodedBfd } from './bfd.ts';
export * from './hsrp.ts';
export { encodeHsrpFrame, decodeHsrpUdp, hsrpDestination, HSRP_TTL_V4, HSRP_HOP_LIMIT_V6 } from './hsrp-frame.ts';
export type { HsrpFrameOptions, DecodedHsrpUdp } from './hsrp-frame.ts';
export { md5, keyedMd5 } from './md5.ts';
