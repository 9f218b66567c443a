// Runs `tandem check` straight from source: node --import tsx firmware/commands/check-entry.ts
import { main } from './check.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tandem check: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
