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
