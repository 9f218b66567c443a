// The Internet checksum (RFC 1071) and the pseudo-header sums VRRPv3 and ICMPv6 prepend.
import { IPV4_ADDR_LEN, IPV6_ADDR_LEN } from './constants.ts';

/** Ones' complement sum of 16-bit big-endian words, not yet folded or complemented; an odd last
 * byte is padded with zero (RFC 1071 4.1). `initialSum` chains partial sums. */
export function onesComplementSum(bytes: Uint8Array, initialSum = 0): number {
  let sum = initialSum;
  const n = bytes.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  // Fold now and then so the sum stays an exact integer for any input size.
  return sum > 0x7fffffff ? sum % 0xffff || 0xffff : sum;
}

/** The 16-bit checksum to store: complement of the folded sum of `bytes` plus `initialSum`.
 * Over data that already holds a correct checksum the result is 0. */
export function internetChecksum(bytes: Uint8Array, initialSum = 0): number {
  let sum = onesComplementSum(bytes, initialSum);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function sumWords(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  return s;
}

/** Sum of the IPv4 pseudo-header (RFC 768; RFC 5798 5.2.8): source, destination, zero, protocol,
 * upper-layer length in bytes. */
export function pseudoHeaderSumV4(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  if (src.length !== IPV4_ADDR_LEN || dst.length !== IPV4_ADDR_LEN)
    throw new RangeError('IPv4 pseudo-header needs 4-byte addresses');
  return sumWords(src) + sumWords(dst) + (protocol & 0xff) + (length & 0xffff);
}

/** Sum of the IPv6 pseudo-header (RFC 8200 8.1): source, destination, 32-bit upper-layer length,
 * three zero bytes, next header. */
export function pseudoHeaderSumV6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  if (src.length !== IPV6_ADDR_LEN || dst.length !== IPV6_ADDR_LEN)
    throw new RangeError('IPv6 pseudo-header needs 16-byte addresses');
  return sumWords(src) + sumWords(dst) + Math.floor(length / 0x10000) + (length & 0xffff) + (nextHeader & 0xff);
}
