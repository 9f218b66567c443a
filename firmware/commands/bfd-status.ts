// The `tandem status` line for an instance's BFD session (docs/bfd.md).
import type { InstanceStatus } from '../core/status.ts';

export function formatBfdLine(i: InstanceStatus): string {
  const b = i.bfd;
  if (!b) return '';
  const drops = Object.entries(b.counters.drops)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const hold = b.takeoverHoldMs > 0 ? `, takeover held ${b.takeoverHoldMs} ms (flap damping)` : '';
  return (
    `${i.name}: BFD ${b.peer} ${b.state} (remote ${b.remoteState}), tx ${b.txIntervalMs} ms, ` +
    `detect ${b.detectionTimeMs} ms, configured ${b.configuredIntervalMs} ms x ${b.multiplier}, ` +
    `last down ${b.lastDownDiag ?? '-'}, takeovers ${b.counters.takeovers}, drops ${drops || '0'}${hold}\n`
  );
}
