// The lab's command line: `./build.sh lab [ARGS]` runs this from source (it is not part of the
// appliance bundle). `node --import tsx lab/cli.ts --help` lists the options.
import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tandem lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
