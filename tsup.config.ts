import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

// One ESM file for the appliance. Native modules (koffi, pcap) and the heavier runtime
// dependencies stay external: they are shipped as node_modules beside the bundle.
export default defineConfig({
  entry: { tandem: 'firmware/cli.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: false,
  sourcemap: true,
  splitting: false,
  banner: { js: '#!/usr/bin/env node' },
  define: { __TANDEM_VERSION__: JSON.stringify(pkg.version) },
  external: ['koffi', 'pcap', 'mqtt', 'pino', 'yaml', 'aedes'],
});
