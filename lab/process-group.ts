// Stopping a helper that lab.spawn started in its own process group (prober, tshark, peers).
import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to the child's process group, SIGKILLs the group if it has not exited after
 *  `graceMs`, and resolves once it has exited. Does nothing for a child that already exited. */
export async function stopProcessGroup(
  child: ChildProcess,
  exited: Promise<void>,
  signal: NodeJS.Signals,
  graceMs = 5_000,
): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone */
    }
  };
  kill(signal);
  const t = setTimeout(() => kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
