// SHA-1 (FIPS 180-4 6.1) and HMAC-SHA1 (RFC 2104), pure: CARP authenticates every advert with
// HMAC-SHA1 (OpenBSD ip_carp.c), and the core may not import node:crypto. One advert per second
// per instance needs two 64-byte blocks hashed twice: speed is no concern, portability is.
// Cross-checked against node:crypto in test/unit/packet-sha1.test.ts.

const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));

/** SHA-1 digest (20 bytes) of the concatenation of `parts`. */
export function sha1(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  // Message, 0x80, zero padding, 64-bit big-endian bit length (FIPS 180-4 5.1.1).
  const total = Math.ceil((len + 9) / 64) * 64;
  const m = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    m.set(p, o);
    o += p.length;
  }
  m[len] = 0x80;
  const dv = new DataView(m.buffer);
  dv.setUint32(total - 8, Math.floor(len / 0x20000000));
  dv.setUint32(total - 4, (len * 8) >>> 0);
  let h0 = 0x67452301,
    h1 = 0xefcdab89,
    h2 = 0x98badcfe,
    h3 = 0x10325476,
    h4 = 0xc3d2e1f0;
  const w = new Uint32Array(80);
  for (let b = 0; b < total; b += 64) {
    for (let t = 0; t < 16; t++) w[t] = dv.getUint32(b + t * 4);
    for (let t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    let a = h0,
      bb = h1,
      c = h2,
      d = h3,
      e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number, k: number;
      if (t < 20) {
        f = (bb & c) | (~bb & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = bb ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (bb & c) | (bb & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = bb ^ c ^ d;
        k = 0xca62c1d6;
      }
      const tmp = (rotl(a, 5) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = rotl(bb, 30);
      bb = a;
      a = tmp;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  for (const [i, h] of [h0, h1, h2, h3, h4].entries()) ov.setUint32(i * 4, h >>> 0);
  return out;
}

const BLOCK = 64;

/** HMAC-SHA1 (RFC 2104) of the concatenation of `parts` under `key`. */
export function hmacSha1(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const k = key.length > BLOCK ? sha1(key) : key;
  const ipad = new Uint8Array(BLOCK).fill(0x36),
    opad = new Uint8Array(BLOCK).fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] ^= k[i];
    opad[i] ^= k[i];
  }
  return sha1(opad, sha1(ipad, ...parts));
}
