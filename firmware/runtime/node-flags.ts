// Node.js flags the daemon runs with. V8's young generation grows to 2 x 16 MB by default; tandem
// allocates little per packet, so 1 MB semi-spaces cost a few more (tiny) scavenges and save about
// 25 MB of RSS at 251 instances (measured: 102 -> 76 MB on the backup). V8 reads this only at
// start, so it is on the command line: the launcher, the lab and the tests (not the bundle's
// shebang: `env -S` is not portable to the BSDs, so `./tandem.js` run by hand goes without it).
// --single-threaded-gc: V8 collects on the allocating thread, with no helper threads. The helpers
// are ordinary-priority threads; under CPU load the real-time engine thread waited for them. In
// the 10-minute loaded soak with BFD 3 ms x 3 (bench/results/2026-12-05-soak-bfd*.md) the session
// went Down 89 times per side without it and twice with it, false takeovers 10 -> 1; idle CPU
// and RSS did not change measurably (docs/benchmarks.md).
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--single-threaded-gc'];

/** argv prefix that runs tandem's bundle at `script` with the runtime flags. */
export function nodeCommand(script: string, execArgv: readonly string[] = process.execArgv): string[] {
  const flags = NODE_FLAGS.filter((f) => !execArgv.some((a) => a.split('=')[0] === f.split('=')[0]));
  return [process.execPath, ...execArgv, ...flags, script];
}
