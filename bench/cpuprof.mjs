// CPU profile of the tandem daemon for the bench, preloaded with NODE_OPTIONS=--import=<this>
// (node refuses --cpu-prof in NODE_OPTIONS, and test/kit/tandem.ts owns the daemon's argv).
// Same output as --cpu-prof: a .cpuprofile JSON in TANDEM_BENCH_PROF_DIR, written at exit.
// The in-thread inspector session answers synchronously, so an 'exit' handler can stop it.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TANDEM_BENCH_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err && res?.profile)
        writeFileSync(join(dir, `tandem-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
