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
  // env -S passes the runtime flags (firmware/runtime/node-flags.ts) when the bundle is run as a program.
  banner: { js: '#!/usr/bin/env -S node --max-semi-space-size=1' },
  define: { __TANDEM_VERSION__: JSON.stringify(pkg.version) },
  external: ['koffi', 'pcap', 'mqtt', 'pino', 'yaml', 'aedes'],
});
