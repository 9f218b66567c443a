// Integer hashes the cluster core needs: node ids from names, the data path's seed from the
// cluster id, the view hash adverts carry, and the rendezvous scores of the assignment. All are
// 32-bit, computed with Math.imul so every node (any CPU, any Node version) gets the same bits.

/** FNV-1a, 32 bits, over the UTF-16 code units of `s` (node names are ASCII). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: every input bit flips about half the output bits. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A node's id on the wire: stable across restarts because it is derived from the node name.
 *  Never 0 (0 marks "no owner" nowhere on the wire, but keeping it free costs nothing). */
export function nodeIdOf(name: string): number {
  return fnv1a32(name) || 1;
}

/** The data path's jhash seed: the same on every node of cluster `id`, different per cluster. */
export function clusterSeed(id: number): number {
  return mix32(0x74616e64 ^ id);
}

/** Rendezvous (highest random weight) score of `nodeId` for `bucket`. */
export function rendezvousScore(bucket: number, nodeId: number): number {
  return mix32(mix32(nodeId) ^ Math.imul(bucket + 1, 0x9e3779b1));
}

/** Hash of the members a node counts in the assignment, with their weights: equal on two nodes
 *  exactly when they compute the same assignment. Order-independent. */
export function viewHash(members: readonly { nodeId: number; weight: number }[]): number {
  const sorted = [...members].sort((a, b) => a.nodeId - b.nodeId);
  let h = 0x811c9dc5;
  for (const m of sorted) {
    h = Math.imul(h ^ mix32(m.nodeId), 0x01000193);
    h = Math.imul(h ^ m.weight, 0x01000193);
  }
  return mix32(h);
}
