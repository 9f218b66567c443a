// conntrackd as an OS effect: its configuration file, the daemon as a child process (restarted
// with backoff when it dies), and control calls through its own client (`conntrackd -C FILE -c`
// and the like), each with a timeout. Decisions (which call, when) are made above, in
// firmware/core/sync/ and firmware/engine/state-sync.ts.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ControlResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  /** conntrackd's own message on failure (it prints "[ERROR] can't connect..." and the like). */
  error?: string;
  timedOut: boolean;
  ms: number;
}

/** The conntrackd operations the engine needs; drivers/fake-conntrackd or a test may stand in. */
export interface ConntrackdDriver {
  writeConf(path: string, text: string): void;
  /** `conntrackd -C conf ARGS`, killed after timeoutMs. Never throws. */
  control(bin: string, conf: string, args: readonly string[], timeoutMs: number): Promise<ControlResult>;
  /** Run the daemon as a child; `onExit` is called each time it ends. */
  start(bin: string, conf: string, lockFile: string, onExit: (e: ChildExit) => void): ConntrackdChild;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines it wrote to stderr, for the report. */
  stderr: string;
}

export interface ConntrackdChild {
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').slice(-n).join(' | ');
}

export const conntrackdDriver: ConntrackdDriver = {
  writeConf(path, text) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: 0o644 });
  },

  control(bin, conf, args, timeoutMs) {
    const t0 = performance.now();
    return new Promise((resolve) => {
      execFile(
        bin,
        ['-C', conf, ...args],
        { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const ms = Math.round(performance.now() - t0);
          if (!err) return resolve({ ok: true, code: 0, stdout, timedOut: false, ms });
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
          const timedOut = e.killed === true;
          const code = typeof e.code === 'number' ? e.code : null;
          const why = timedOut
            ? `no answer within ${timeoutMs} ms`
            : lastLines(stderr) || lastLines(stdout) || e.message || `exit ${code}`;
          resolve({ ok: false, code, stdout, error: why, timedOut, ms });
        },
      );
    });
  },

  start(bin, conf, lockFile, onExit) {
    // A lock file left by a conntrackd that died (ours: we are its parent and saw it go) would
    // stop the next one from starting ("lockfile exists, perhaps conntrackd already running?").
    rmSync(lockFile, { force: true });
    const child: ChildProcess = spawn(bin, ['-C', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4096);
    });
    let exited = false;
    const gone = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        if (exited) return;
        exited = true;
        onExit({ code: null, signal: null, stderr: err.message });
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (exited) return;
        exited = true;
        onExit({ code, signal, stderr: lastLines(stderr) });
        resolve();
      });
    });
    return {
      get pid() {
        return child.pid;
      },
      async stop(graceMs = 2_000) {
        if (exited) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await gone;
        clearTimeout(t);
        rmSync(lockFile, { force: true });
      },
    };
  },
};
