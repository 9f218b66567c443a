// Reconnect delays: capped exponential backoff with full jitter, so a fleet that lost its broker
// does not reconnect in lockstep when it comes back.

/** Delay before attempt `attempt` (0 = first retry): uniform in [0, min(maxMs, minMs * 2^attempt)). */
export function backoffDelayMs(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(Math.max(0, attempt), 30); // 2^30 already exceeds any sane cap
  const ceiling = Math.min(maxMs, minMs * 2 ** exp);
  return Math.floor(random() * ceiling);
}
