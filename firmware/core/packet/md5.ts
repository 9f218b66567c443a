// MD5 (RFC 1321) and RFC 1828's keyed MD5, pure: HSRP's MD5 authentication TLV carries a keyed
// MD5 of the message, and the core may not import node:crypto. A few 64-byte blocks per Hello:
// speed is no concern. Cross-checked against node:crypto in test/unit/packet-hsrp-md5.test.ts.

/** RFC 1321 3.4: the per-round shift amounts and T[i] = floor(2^32 * |sin(i + 1)|). */
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const T = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

/** Message, 0x80, zeros to 56 mod 64, then the 64-bit little-endian bit length (RFC 1321 3.1-3.2). */
function padded(len: number): { total: number; tail: (m: Uint8Array) => void } {
  const total = Math.ceil((len + 9) / 64) * 64;
  return {
    total,
    tail: (m) => {
      m[len] = 0x80;
      const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
      dv.setUint32(total - 8, (len * 8) >>> 0, true);
      dv.setUint32(total - 4, Math.floor(len / 0x20000000), true);
    },
  };
}

/** MD5 digest (16 bytes) of the concatenation of `parts`. */
export function md5(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const { total, tail } = padded(len);
  const m = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    m.set(p, o);
    o += p.length;
  }
  tail(m);
  const dv = new DataView(m.buffer);
  let a0 = 0x67452301,
    b0 = 0xefcdab89,
    c0 = 0x98badcfe,
    d0 = 0x10325476;
  const x = new Uint32Array(16);
  for (let blk = 0; blk < total; blk += 64) {
    for (let i = 0; i < 16; i++) x[i] = dv.getUint32(blk + i * 4, true);
    let a = a0,
      b = b0,
      c = c0,
      d = d0;
    for (let i = 0; i < 64; i++) {
      const round = i >> 4;
      let f: number, g: number;
      if (round === 0) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (round === 1) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (round === 2) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = S[round * 4 + (i & 3)];
      const sum = (a + f + T[i] + x[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, a0 >>> 0, true);
  ov.setUint32(4, b0 >>> 0, true);
  ov.setUint32(8, c0 >>> 0, true);
  ov.setUint32(12, d0 >>> 0, true);
  return out;
}

/**
 * RFC 1828 keyed MD5: MD5(key || keyfill || data || key), where keyfill pads the key to a 64-byte
 * boundary the way MD5 pads a message (0x80, zeros, the key's 64-bit bit length).
 */
export function keyedMd5(key: Uint8Array, data: Uint8Array): Uint8Array {
  const { total, tail } = padded(key.length);
  const block = new Uint8Array(total);
  block.set(key);
  tail(block);
  return md5(block, data, key);
}
