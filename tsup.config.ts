import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

// One ESM file for the appliance. Native modules (koffi, pcap) and the heavier runtime
// dependencies stay external: they are shipped as node_modules beside the bundle.
export default defineConfig({
  // The protocol engine runs in a worker thread (firmware/engine/worker.ts): its own entry.
  entry: { tandem: 'firmware/tandem.ts', 'engine-worker': 'firmware/engine/worker.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: false, // dist/keys holds OTA signing keys: build.sh removes only old .js files
  sourcemap: true,
  // Code splitting: commands and heavy modules (mqtt, tar, the OTA agent) load only when used,
  // which keeps a running daemon's memory down (an ESM bundle would hoist every import).
  splitting: true,
  // A plain shebang: `env -S` (to pass the runtime flags) does not exist in NetBSD's or OpenBSD's
  // env(1). The flags (firmware/runtime/node-flags.ts, memory only) come from the launcher, the
  // lab and the tests, which run `node FLAGS dist/tandem.js`.
  banner: { js: '#!/usr/bin/env node' },
  define: { __TANDEM_VERSION__: JSON.stringify(pkg.version) },
  external: ['koffi', 'pcap', 'mqtt', 'pino', 'yaml', 'aedes'],
});
