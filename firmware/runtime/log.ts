// The daemon's logger: one JSON object per line on stdout (pino). Per-packet messages are
// debug-level and rate-limited by the caller; secrets are redacted by key name.
import pino, { type Logger } from 'pino';

export type { Logger };
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export function createLogger(level: LogLevel = 'info', dest?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'key', '*.passwordFile'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: tandem logs transitions and faults, not packets, so a write(2) per line costs
    // nothing, and no line is lost when the process ends with _exit (drivers/exit.ts).
    dest ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** Lets a hot path log at most `perWindow` messages every `windowMs` per key, counting the rest. */
export class RateLimiter {
  private windows = new Map<string, { start: number; n: number; suppressed: number }>();
  constructor(
    private perWindow = 5,
    private windowMs = 10_000,
  ) {}
  /** Returns the number of messages suppressed since the last allowed one, or -1 to suppress. */
  allow(key: string, now: number): number {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: now, n: 0, suppressed: 0 };
      this.windows.set(key, w);
      w.n++;
      return suppressed;
    }
    if (w.n < this.perWindow) {
      w.n++;
      return 0;
    }
    w.suppressed++;
    return -1;
  }
}
