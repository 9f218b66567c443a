// Durations in the configuration: "100ms", "1s", "1.5s", "2m", "1h", or a bare number of seconds
// (YAML `advert_interval: 1`). Always converted to whole milliseconds.

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const FORM = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/;
const HINT = 'use e.g. 100ms, 1s, 1.5s, 2m or a number of seconds';

/** Like parseDuration, but returns the problem instead of throwing. */
export function checkDuration(input: unknown): DurationResult {
  let amount: number;
  let unit: keyof typeof UNIT_MS = 's';
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: `${input} is not a duration (${HINT})` };
    if (input < 0) return { ok: false, reason: `${input} is negative` };
    amount = input;
  } else if (typeof input === 'string') {
    const m = FORM.exec(input.trim());
    if (!m) {
      return /^-/.test(input.trim())
        ? { ok: false, reason: `"${input}" is negative` }
        : { ok: false, reason: `"${input}" is not a duration (${HINT})` };
    }
    amount = Number(m[1]);
    if (m[2]) unit = m[2] as keyof typeof UNIT_MS;
  } else {
    return { ok: false, reason: `expected a duration (${HINT})` };
  }
  const exact = amount * UNIT_MS[unit];
  const ms = Math.round(exact);
  // 0.1 s * 1000 is 100.00000000000001 in binary floating point: tolerate that, not 1.5 ms.
  if (Math.abs(exact - ms) > 1e-6)
    return {
      ok: false,
      reason: `${typeof input === 'string' ? `"${input}"` : input} is not a whole number of milliseconds`,
    };
  if (!Number.isSafeInteger(ms)) return { ok: false, reason: `${input} is too long` };
  return { ok: true, ms };
}

/** Converts a configuration duration to milliseconds; throws a RangeError saying what is wrong. */
export function parseDuration(input: string | number): number {
  const r = checkDuration(input);
  if (!r.ok) throw new RangeError(r.reason);
  return r.ms;
}

/** Formats milliseconds the way a person would write them in the file: 100ms, 1s, 1.5s, 2m. */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
