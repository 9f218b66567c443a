// What the interop tests (tandem against keepalived, FRR, ...) share: a router of any kind seen
// through its state, and waiting for two of them to reach a pair of states.
import * as assert from 'uvu/assert';
import { waitFor } from './lab.ts';
import type { LabHost, PeerState } from './lab.ts';

export interface InteropRouter {
  kind: string; // 'tandem', 'keepalived', 'frr'
  host: LabHost;
  state(): Promise<PeerState>;
  stop(): Promise<void>;
  describe(): Promise<string>;
}

/** A state name in any case as the peers print it ('master', 'MASTER'), or 'unknown'. */
export function peerState(s: string | undefined): PeerState {
  const t = (s ?? '').toUpperCase();
  return t === 'MASTER' || t === 'BACKUP' || t === 'FAULT' || t === 'INIT' ? t : 'unknown';
}

/** Waits until `a` is in `as` and `b` in `bs`; fails the test with both routers described
 *  otherwise. Returns how long it took, ms. */
export async function waitStates(
  a: InteropRouter,
  as: PeerState,
  b: InteropRouter,
  bs: PeerState,
  timeoutMs: number,
  step: string,
): Promise<number> {
  const t0 = Date.now();
  const ok = await waitFor(async () => (await a.state()) === as && (await b.state()) === bs, timeoutMs, 20);
  if (!ok)
    assert.unreachable(
      `${step}: wanted ${a.kind}=${as}, ${b.kind}=${bs}; have ${await a.describe()}\n---\n${await b.describe()}`,
    );
  return Date.now() - t0;
}
