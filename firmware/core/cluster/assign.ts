// Which live member owns each bucket: a pure function of the members and their weights, so every
// node that sees the same members computes the same owners and no coordinator is needed.
//
// 1. Quotas (largest remainder, Hamilton's method): member i gets floor(B * w_i / W) buckets, and
//    the B - sum of those left over go one each to the largest remainders (ties: lower node id).
//    So every share is within one bucket of B * w_i / W. Weight 0: quota 0, nothing served.
// 2. Buckets (rendezvous hashing with quotas): every (bucket, member) pair has an integer score
//    (hash.ts rendezvousScore); pairs are visited from the highest score down and a bucket goes to
//    the member of the pair if the bucket is still free and the member's quota is not full.
//    A member's buckets are the ones it scores highest on, so when a member leaves, each of its
//    buckets goes to the survivor that scores next highest on it: spread evenly over all the
//    survivors (not dumped on one, as carp(4) balancing does), and the others' buckets mostly stay.
import { rendezvousScore } from './hash.ts';

export interface Participant {
  nodeId: number;
  weight: number;
}

/** Buckets per member, summing to `buckets` (or to 0 when every weight is 0). */
export function quotas(members: readonly Participant[], buckets: number): Map<number, number> {
  const sorted = [...members].sort((a, b) => a.nodeId - b.nodeId);
  const total = sorted.reduce((s, m) => s + m.weight, 0);
  const out = new Map<number, number>();
  if (total === 0) {
    for (const m of sorted) out.set(m.nodeId, 0);
    return out;
  }
  let given = 0;
  const rest: { nodeId: number; rem: number }[] = [];
  for (const m of sorted) {
    const q = Math.floor((buckets * m.weight) / total);
    out.set(m.nodeId, q);
    given += q;
    rest.push({ nodeId: m.nodeId, rem: (buckets * m.weight) % total });
  }
  rest.sort((a, b) => b.rem - a.rem || a.nodeId - b.nodeId);
  for (let i = 0; i < buckets - given; i++) out.set(rest[i].nodeId, out.get(rest[i].nodeId)! + 1);
  return out;
}

/** The owner (node id) of each bucket 0..buckets-1; null where nobody may serve (every weight 0,
 *  or no members). Members with the same node id must not appear twice. */
export function assignBuckets(members: readonly Participant[], buckets: number): (number | null)[] {
  const owner: (number | null)[] = new Array(buckets).fill(null);
  const left = quotas(members, buckets);
  const serving = [...left].filter(([, q]) => q > 0).map(([id]) => id);
  const pairs: { score: number; bucket: number; nodeId: number }[] = [];
  for (let b = 0; b < buckets; b++)
    for (const id of serving) pairs.push({ score: rendezvousScore(b, id), bucket: b, nodeId: id });
  pairs.sort((x, y) => y.score - x.score || x.nodeId - y.nodeId || x.bucket - y.bucket);
  for (const p of pairs) {
    if (owner[p.bucket] !== null) continue;
    const q = left.get(p.nodeId)!;
    if (q === 0) continue;
    owner[p.bucket] = p.nodeId;
    left.set(p.nodeId, q - 1);
  }
  return owner;
}
