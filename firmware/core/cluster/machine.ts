// One node's view of an active-active cluster (issue #13, docs/cluster.md): members learned from
// adverts, the buckets this node owns and drains, and when to advertise. Pure: no I/O, time is a
// number passed in; the engine (firmware/engine/cluster.ts) feeds adverts and timer ticks and
// performs the actions.
//
// Rules:
// - A member is down when Member_Down_Interval = 3 x its advert interval + skew passes without an
//   advert from it; skew = a quarter of its interval (memberDownIntervalMs). A member that
//   announces it is leaving is dropped at once.
// - The owners are assignBuckets() of the counted members: this node (unless it is joining) and
//   every member heard that is not joining. Weight 0 counts but serves nothing.
// - A bucket assigned to this node is taken at once when no live member claims it as owned (a
//   failed node's buckets: no draining), else when its owner's advert no longer claims it (the
//   owner moved it to draining: make-before-break), or after Member_Down_Interval at the latest.
// - A bucket no longer assigned to this node is moved to draining (established flows only) until
//   drain_timeout passes or the bucket comes back.
// - A starting node listens (joining) for max(Member_Down_Interval, preempt_delay) before it is
//   counted, so it learns who owns what before it takes anything.
// - Any change of what the advert says is advertised at once, not at the next interval.
import { assignBuckets, type Participant } from './assign.ts';
import { viewHash } from './hash.ts';

export interface ClusterParams {
  clusterId: number;
  buckets: number;
  nodeId: number;
  nodeName: string;
  advertIntervalMs: number;
  drainTimeoutMs: number;
  preemptDelayMs: number;
}

/** What the machine reads from an advert (core/packet/cluster.ts ClusterAdvert). */
export interface HeardAdvert {
  nodeId: number;
  name: string;
  weight: number;
  advertIntervalMs: number;
  viewHash: number;
  joining: boolean;
  leaving: boolean;
  owned: readonly number[];
  draining: readonly number[];
}

export interface Member {
  nodeId: number;
  name: string;
  weight: number;
  advertIntervalMs: number;
  viewHash: number;
  joining: boolean;
  owned: Set<number>;
  draining: Set<number>;
  lastHeardMs: number;
  downAtMs: number;
}

export type ClusterAction =
  | { type: 'send-advert' }
  /** owned / draining / handing changed: tell the data path (setBuckets). */
  | { type: 'set-buckets'; owned: number[]; draining: number[]; handing: number[] }
  | { type: 'member-up'; nodeId: number; name: string }
  | { type: 'member-down'; nodeId: number; name: string; reason: 'timeout' | 'leaving' }
  /** Buckets this node took (`failover`: from a failed member, no draining) or gave up. */
  | { type: 'ownership'; gained: number[]; lost: number[]; failover: number[] };

/** The skew added to 3 intervals: a quarter interval of lateness is not a failure. */
export function memberDownIntervalMs(advertIntervalMs: number): number {
  return 3 * advertIntervalMs + Math.floor(advertIntervalMs / 4);
}

const sortedNums = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

export class ClusterMachine {
  readonly members = new Map<number, Member>();
  readonly owned = new Set<number>();
  /** bucket -> when draining ends */
  readonly draining = new Map<number, number>();
  /** Draining buckets whose new owner has not claimed them yet (bucket -> when to stop waiting
   *  for the claim): their UDP and ICMP still pass here, so a planned move loses no datagram
   *  in the one advert flight between the release and the take (new TCP flows wait for the new
   *  owner: a SYN answered twice would reset the connection). */
  readonly handing = new Map<number, number>();
  /** bucket -> when it is taken even if the old owner still claims it */
  readonly pending = new Map<number, number>();
  weight: number;
  joining = true;
  leaving = false;
  /** The owner of each bucket by the current view (node id, or null). */
  target: (number | null)[] = [];
  private joinUntilMs: number;
  private nextAdvertMs: number;
  private lastAdvertSig = '';

  constructor(
    readonly p: ClusterParams,
    weight: number,
    nowMs: number,
  ) {
    this.weight = weight;
    this.joinUntilMs = nowMs + Math.max(memberDownIntervalMs(p.advertIntervalMs), p.preemptDelayMs);
    this.nextAdvertMs = nowMs;
  }

  /** The members this node counts in the assignment, itself included. */
  participants(): Participant[] {
    const out: Participant[] = [];
    if (!this.joining && !this.leaving) out.push({ nodeId: this.p.nodeId, weight: this.weight });
    for (const m of this.members.values()) if (!m.joining) out.push({ nodeId: m.nodeId, weight: m.weight });
    return out;
  }

  viewHash(): number {
    return viewHash(this.participants());
  }

  /** What this node's next advert says. */
  advert(): HeardAdvert {
    return {
      nodeId: this.p.nodeId,
      name: this.p.nodeName,
      weight: this.leaving ? 0 : this.weight,
      advertIntervalMs: this.p.advertIntervalMs,
      viewHash: this.viewHash(),
      joining: this.joining,
      leaving: false,
      owned: sortedNums(this.owned),
      draining: sortedNums(this.draining.keys()),
    };
  }

  /** The earliest time the machine wants `tick`. */
  nextDeadline(): number {
    let t = this.nextAdvertMs;
    if (this.joining) t = Math.min(t, this.joinUntilMs);
    for (const m of this.members.values()) t = Math.min(t, m.downAtMs);
    for (const d of this.pending.values()) t = Math.min(t, d);
    for (const d of this.draining.values()) t = Math.min(t, d);
    for (const d of this.handing.values()) t = Math.min(t, d);
    return t;
  }

  /** An advert from another node (already validated, and not ours). */
  receive(a: HeardAdvert, nowMs: number): ClusterAction[] {
    const out: ClusterAction[] = [];
    const m = this.members.get(a.nodeId);
    if (a.leaving) {
      if (m) {
        this.members.delete(a.nodeId);
        out.push({ type: 'member-down', nodeId: a.nodeId, name: m.name, reason: 'leaving' });
      }
      return [...out, ...this.reconcile(nowMs, [])];
    }
    const fields = {
      name: a.name,
      weight: a.weight,
      advertIntervalMs: a.advertIntervalMs,
      viewHash: a.viewHash,
      joining: a.joining,
      owned: new Set(a.owned),
      draining: new Set(a.draining),
      lastHeardMs: nowMs,
      downAtMs: nowMs + memberDownIntervalMs(a.advertIntervalMs),
    };
    if (m) Object.assign(m, fields);
    else {
      this.members.set(a.nodeId, { nodeId: a.nodeId, ...fields });
      out.push({ type: 'member-up', nodeId: a.nodeId, name: a.name });
    }
    return [...out, ...this.reconcile(nowMs, [])];
  }

  /** Timers: members gone silent, the end of joining, pending takes, drains, the next advert. */
  tick(nowMs: number): ClusterAction[] {
    const out: ClusterAction[] = [];
    const failed: number[] = [];
    for (const m of [...this.members.values()]) {
      if (nowMs < m.downAtMs) continue;
      this.members.delete(m.nodeId);
      failed.push(m.nodeId);
      out.push({ type: 'member-down', nodeId: m.nodeId, name: m.name, reason: 'timeout' });
    }
    if (this.joining && nowMs >= this.joinUntilMs) this.joining = false;
    const before = failed.length ? this.claimsOf(failed) : new Set<number>();
    out.push(...this.reconcile(nowMs, [...before]));
    if (nowMs >= this.nextAdvertMs && !out.some((a) => a.type === 'send-advert')) {
      out.push({ type: 'send-advert' });
      this.nextAdvertMs = nowMs + this.p.advertIntervalMs;
    }
    return out;
  }

  /** A new effective weight (configuration, tracking, maintenance). */
  setWeight(weight: number, nowMs: number): ClusterAction[] {
    if (weight === this.weight) return [];
    this.weight = weight;
    return this.reconcile(nowMs, []);
  }

  /** Back from a loss of carrier: what this node knows of the others is stale, so it listens
   *  again (as at start) before it takes anything. */
  rejoin(nowMs: number): ClusterAction[] {
    this.joining = true;
    this.joinUntilMs = nowMs + Math.max(memberDownIntervalMs(this.p.advertIntervalMs), this.p.preemptDelayMs);
    return this.reconcile(nowMs, []);
  }

  /** Planned stop: announce weight 0 and hand every owned bucket over (they drain here). */
  leave(nowMs: number): ClusterAction[] {
    if (this.leaving) return [];
    this.leaving = true;
    return this.reconcile(nowMs, []);
  }

  /** The flows of these draining buckets have ended (the shell looked at connection tracking):
   *  stop serving them now instead of at drain_timeout. Buckets not draining are ignored. */
  endDrain(buckets: readonly number[], nowMs: number): ClusterAction[] {
    let ended = false;
    for (const b of buckets) ended = this.draining.delete(b) || ended;
    return ended ? this.reconcile(nowMs, []) : [];
  }

  /** True once a leaving node owns nothing and has nothing left to drain. */
  get drained(): boolean {
    return this.owned.size === 0 && this.draining.size === 0;
  }

  /** The advert to send last, when the node stops: others drop it from their view at once. */
  farewell(): HeardAdvert {
    return { ...this.advert(), weight: 0, leaving: true, owned: [], draining: [] };
  }

  private claimsOf(ids: number[]): Set<number> {
    // The buckets the failed members owned, as far as we knew: for the failover mark only.
    const s = new Set<number>();
    for (const b of this.lastClaims.keys()) if (ids.includes(this.lastClaims.get(b)!)) s.add(b);
    return s;
  }

  /** bucket -> the node that claimed it as owned in its latest advert, kept for claimsOf. */
  private lastClaims = new Map<number, number>();

  private reconcile(nowMs: number, failedBuckets: number[]): ClusterAction[] {
    const self = this.p.nodeId;
    this.target = assignBuckets(this.participants(), this.p.buckets);
    const claimed = new Map<number, number>();
    for (const m of this.members.values()) for (const b of m.owned) claimed.set(b, m.nodeId);
    const takeBoundMs = memberDownIntervalMs(this.p.advertIntervalMs);
    const gained: number[] = [];
    const lost: number[] = [];
    for (let b = 0; b < this.p.buckets; b++) {
      if (this.target[b] === self) {
        if (this.owned.has(b)) {
          this.pending.delete(b);
          continue;
        }
        let take = !claimed.has(b);
        if (!take) {
          const due = this.pending.get(b) ?? nowMs + takeBoundMs;
          this.pending.set(b, due);
          take = nowMs >= due;
        }
        if (take) {
          this.pending.delete(b);
          this.draining.delete(b);
          this.handing.delete(b);
          this.owned.add(b);
          gained.push(b);
        }
      } else {
        this.pending.delete(b);
        if (this.owned.delete(b)) {
          this.draining.set(b, nowMs + this.p.drainTimeoutMs);
          this.handing.set(b, nowMs + takeBoundMs);
          lost.push(b);
        }
      }
      const end = this.draining.get(b);
      if (end !== undefined && nowMs >= end) this.draining.delete(b);
      // The new owner claimed it (it passes everything now), or never did within the bound.
      const until = this.handing.get(b);
      if (until !== undefined && (!this.draining.has(b) || claimed.has(b) || nowMs >= until)) this.handing.delete(b);
    }
    this.lastClaims = claimed;
    for (const b of this.owned) this.lastClaims.set(b, self);
    const out: ClusterAction[] = [];
    const sig = JSON.stringify(this.advert());
    const bucketsChanged = gained.length > 0 || lost.length > 0 || this.drainSig !== this.drainSignature();
    if (bucketsChanged) {
      this.drainSig = this.drainSignature();
      out.push({
        type: 'set-buckets',
        owned: sortedNums(this.owned),
        draining: sortedNums(this.draining.keys()),
        handing: sortedNums(this.handing.keys()),
      });
    }
    if (gained.length || lost.length) {
      const failover = gained.filter((b) => failedBuckets.includes(b));
      out.push({ type: 'ownership', gained, lost, failover });
    }
    if (sig !== this.lastAdvertSig) {
      this.lastAdvertSig = sig;
      out.push({ type: 'send-advert' });
      this.nextAdvertMs = nowMs + this.p.advertIntervalMs;
    }
    return out;
  }

  private drainSig = '';
  private drainSignature(): string {
    return `${sortedNums(this.draining.keys()).join(',')}|${sortedNums(this.handing.keys()).join(',')}`;
  }
}
