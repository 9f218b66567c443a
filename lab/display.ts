// What `tandem lab` shows while it runs. The rendering is pure (model in, lines out); the Screen
// redraws a frame in place on a terminal, and on anything else (CI logs, pipes) prints only the
// log lines, one per change, so the output reads sanely without ANSI.
import type { ApplianceKind, ApplianceState } from './appliance.ts';

export interface RouterLine {
  name: string;
  ns: string;
  kind: ApplianceKind;
  state: ApplianceState;
  priority: number;
  effectivePriority: number | null;
}

export interface ClientLine {
  ns: string;
  vip: string;
  /** null: the prober is not running. */
  reachable: boolean | null;
  /** How long since the last reply, when unreachable. */
  downForMs: number | null;
  replies: number;
}

export interface DisplayModel {
  title: string;
  routers: RouterLine[];
  client: ClientLine;
  /** The step running now ("" between steps). */
  step: string;
  /** Recent log lines, oldest first. */
  log: string[];
  /** MQTT messages seen (-1: no broker). */
  mqttMessages: number;
}

/** Names of the routers that say they are master (more than one: a split, e.g. a silent failure). */
export function mastersOf(routers: readonly Pick<RouterLine, 'name' | 'state'>[]): string[] {
  return routers.filter((r) => r.state === 'master').map((r) => r.name);
}

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  dim: '\x1b[2m',
};

function paint(s: string, code: string, color: boolean): string {
  return color ? `${code}${s}${ANSI.reset}` : s;
}

function stateColor(s: ApplianceState): string {
  return s === 'master'
    ? ANSI.green
    : s === 'backup'
      ? ANSI.yellow
      : s === 'down' || s === 'fault'
        ? ANSI.red
        : ANSI.dim;
}

/** The frame for a terminal: a header, one line per router, the client, the step, the log tail. */
export function renderFrame(m: DisplayModel, opts: { color: boolean; logLines?: number }): string[] {
  const c = opts.color;
  const masters = mastersOf(m.routers);
  const lines = [paint(m.title, ANSI.bold, c)];
  for (const r of m.routers) {
    const prio =
      r.effectivePriority !== null && r.effectivePriority !== r.priority
        ? `prio ${r.priority} (now ${r.effectivePriority})`
        : `prio ${r.priority}`;
    lines.push(
      `  ${r.name.padEnd(3)} ${r.ns.padEnd(12)} ${r.kind.padEnd(10)} ${paint(r.state.toUpperCase().padEnd(7), stateColor(r.state), c)} ${prio}`,
    );
  }
  const master =
    masters.length === 0
      ? paint('none', ANSI.red, c)
      : masters.length === 1
        ? paint(masters[0], ANSI.green, c)
        : paint(`${masters.join(' + ')} (more than one says master)`, ANSI.yellow, c);
  lines.push(`  master: ${master}`);
  const cl = m.client;
  const reach =
    cl.reachable === null
      ? paint('not probing', ANSI.dim, c)
      : cl.reachable
        ? paint('reachable', ANSI.green, c)
        : paint(`NO REPLY for ${Math.round(cl.downForMs ?? 0)} ms`, ANSI.red, c);
  lines.push(
    `  client ${cl.ns} -> ${cl.vip} (1 ms ICMP): ${reach}${cl.reachable !== null ? `, ${cl.replies} replies` : ''}`,
  );
  if (m.mqttMessages >= 0) lines.push(`  mqtt: ${m.mqttMessages} messages from the daemons`);
  lines.push(`  ${m.step ? paint(`> ${m.step}`, ANSI.bold, c) : ''}`);
  const n = opts.logLines ?? 8;
  const tail = m.log.slice(-n);
  for (let i = 0; i < n; i++) lines.push(tail[i] !== undefined ? `  ${paint(tail[i], ANSI.dim, c)}` : '');
  return lines;
}

export interface StepRow {
  step: string;
  expected: string;
  observed: string;
  outageMs: number | null;
  ok: boolean;
}

/** The summary table, fixed-width columns, one row per step. */
export function renderSummary(rows: readonly StepRow[]): string[] {
  const head = ['step', 'expected', 'observed', 'outage ms', 'result'];
  const cells = rows.map((r) => [
    r.step,
    r.expected,
    r.observed,
    r.outageMs === null ? '-' : r.outageMs.toFixed(0),
    r.ok ? 'ok' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const fmt = (row: string[]) =>
    row
      .map((s, i) => (i === 3 ? s.padStart(widths[i]) : s.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(fmt)];
}

/**
 * Output to a stream. On a TTY, draw() replaces the previous frame (cursor up, clear line); log()
 * lines land in the frame's tail. Elsewhere draw() does nothing and log() prints each line with
 * a time offset, so a CI log gets one line per change.
 */
export class Screen {
  private drawn = 0;
  private readonly t0 = Date.now();

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    readonly tty: boolean,
  ) {}

  /** "+12.345s" since the screen was made. */
  stamp(atMs = Date.now()): string {
    return `+${((atMs - this.t0) / 1000).toFixed(3)}s`;
  }

  draw(lines: string[]): void {
    if (!this.tty) return;
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of lines) s += `\r\x1b[2K${l}\n`;
    this.out.write(s);
    this.drawn = lines.length;
  }

  /** Leave the last frame on screen; what follows is printed below it. */
  release(): void {
    this.drawn = 0;
  }

  line(s: string): void {
    if (this.tty) return; // shown in the frame's tail
    this.out.write(`${s}\n`);
  }

  /** Text that is always printed (summaries, instructions), below the frame on a TTY. */
  print(s: string): void {
    this.release();
    this.out.write(s.endsWith('\n') ? s : `${s}\n`);
  }
}
