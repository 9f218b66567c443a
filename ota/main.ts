// Entry of the standalone OTA helper (payload/tandem-ota.js, bundled by ota/bundle.ts). It carries
// only the OTA code, so the launcher can run the previous slot's boot check even when the new
// slot's tandem.js does not start at all.
import { main } from './cli.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tandem-ota: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
