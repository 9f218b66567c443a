// The bucket nft's `jhash <expr> mod N seed S` gives a packet, computed here so a test can tell
// which node must answer a client: Bob Jenkins' lookup3 as in include/linux/jhash.h (jhash(),
// words read little-endian on the machines we test on) scaled by reciprocal_scale()
// (include/linux/math.h), as net/netfilter/nft_hash.c nft_jhash_eval() does. The kernel hashes
// every packet; this port only maps a tracked connection's client to its bucket (the end of a
// drain, engine/cluster.ts) and lets tests predict owners. The namespace tests check it against
// the kernel.
const rol = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

function mix(s: [number, number, number]): void {
  let [a, b, c] = s;
  a = (a - c) >>> 0;
  a ^= rol(c, 4);
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b ^= rol(a, 6);
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c ^= rol(b, 8);
  b = (b + a) >>> 0;
  a = (a - c) >>> 0;
  a ^= rol(c, 16);
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b ^= rol(a, 19);
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c ^= rol(b, 4);
  b = (b + a) >>> 0;
  s[0] = a >>> 0;
  s[1] = b >>> 0;
  s[2] = c >>> 0;
}

function final(s: [number, number, number]): void {
  let [a, b, c] = s;
  c = ((c ^ b) - rol(b, 14)) >>> 0;
  a = ((a ^ c) - rol(c, 11)) >>> 0;
  b = ((b ^ a) - rol(a, 25)) >>> 0;
  c = ((c ^ b) - rol(b, 16)) >>> 0;
  a = ((a ^ c) - rol(c, 4)) >>> 0;
  b = ((b ^ a) - rol(a, 14)) >>> 0;
  c = ((c ^ b) - rol(b, 24)) >>> 0;
  s[0] = a;
  s[1] = b;
  s[2] = c;
}

/** jhash(key, length, initval) of include/linux/jhash.h. */
export function jhash(key: Uint8Array, seed: number): number {
  let len = key.length;
  const init = (0xdeadbeef + len + seed) >>> 0;
  const s: [number, number, number] = [init, init, init];
  const le = (o: number) => (key[o] | (key[o + 1] << 8) | (key[o + 2] << 16) | (key[o + 3] << 24)) >>> 0;
  let k = 0;
  while (len > 12) {
    s[0] = (s[0] + le(k)) >>> 0;
    s[1] = (s[1] + le(k + 4)) >>> 0;
    s[2] = (s[2] + le(k + 8)) >>> 0;
    mix(s);
    len -= 12;
    k += 12;
  }
  if (len === 0) return s[2];
  const tail = [0, 0, 0];
  for (let i = 0; i < len; i++) tail[i >> 2] += key[k + i] * 2 ** (8 * (i & 3));
  s[0] = (s[0] + tail[0]) >>> 0;
  s[1] = (s[1] + tail[1]) >>> 0;
  s[2] = (s[2] + tail[2]) >>> 0;
  final(s);
  return s[2];
}

/** nft_jhash_eval: reciprocal_scale(jhash(data, len, seed), modulus). */
export function nftJhashBucket(key: Uint8Array, buckets: number, seed: number): number {
  return Number((BigInt(jhash(key, seed)) * BigInt(buckets)) >> 32n);
}

/** The bucket the data path's `jhash ip saddr` (hash: source) or `jhash ip saddr . ip daddr`
 *  (source-dest) puts a packet from `client` to `service` in: the addresses' bytes in network
 *  order, as the packet carries them. */
export function clusterBucketOf(
  client: Uint8Array,
  service: Uint8Array,
  hash: 'source' | 'source-dest',
  buckets: number,
  seed: number,
): number {
  const key = hash === 'source' ? client : new Uint8Array([...client, ...service]);
  return nftJhashBucket(key, buckets, seed);
}
