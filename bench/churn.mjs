// Heap churn for the soak: preloaded into the tandem daemon with NODE_OPTIONS=--import=<this>.
// It runs in the main thread only, where tandem's non-protocol work (control socket, MQTT
// telemetry, OTA) lives; the protocol engine's worker thread (which NODE_OPTIONS preloads reach
// too) is measured as it is, with its own allocations.
// It keeps a rolling set of live objects (so old space fills and major GCs happen) and makes
// short-lived garbage on every tick (so scavenges happen), the way a busy daemon would.
// Knobs: TANDEM_BENCH_CHURN_MB (retained set, default 48), TANDEM_BENCH_CHURN_TICK_MS (default 5).
import { isMainThread } from 'node:worker_threads';
const retainedMb = Number(process.env.TANDEM_BENCH_CHURN_MB ?? 48);
const tickMs = Number(process.env.TANDEM_BENCH_CHURN_TICK_MS ?? 5);
const SLOTS = 256;
// One slot holds about retainedMb / SLOTS of small objects (~40 bytes each with array overhead).
const perSlot = Math.max(1, Math.floor((retainedMb * 1024 * 1024) / SLOTS / 48));
const ring = new Array(SLOTS);
let i = 0;
let sink = 0;
const t = !isMainThread
  ? undefined
  : setInterval(() => {
      // Replace one slot: the old one becomes old-space garbage.
      const slot = new Array(perSlot);
      for (let k = 0; k < perSlot; k++) slot[k] = { k, s: `x${k}` };
      ring[i++ % SLOTS] = slot;
      // Short-lived garbage: strings and objects that die young.
      for (let k = 0; k < 2000; k++) sink += JSON.stringify({ k, a: [k, k + 1] }).length;
    }, tickMs);
t?.unref();
globalThis.__tandemBenchChurn = () => sink;
