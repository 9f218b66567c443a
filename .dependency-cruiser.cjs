// tandem's layers (docs/architecture.md): each folder is one layer and imports only point down.
// Run by `./build.sh check` (part of `./build.sh test`); any violation fails the build.
const CORE = '^firmware/core/';
const DRIVERS = '^drivers/';
const CONFIG = '^firmware/config/';
const RUNTIME = '^firmware/runtime/';
const ENGINE = '^firmware/engine/';
const TELEMETRY = '^firmware/telemetry/';
const OTA = '^ota/';
const SUPERVISOR = '^firmware/supervisor/';
const COMMANDS = '^firmware/commands/';
const any = (...paths) => paths.join('|');

/** A layer may import itself and the layers listed; anything else of ours is forbidden. */
const layer = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: {
    path: '^(firmware|drivers|ota|lab|bench|test)/',
    pathNot: any(from, ...allowed),
  },
});

module.exports = {
  forbidden: [
    layer(
      'core-is-pure',
      CORE,
      [],
      'firmware/core is the pure protocol core: it imports nothing of ours outside itself',
    ),
    {
      name: 'core-no-node-or-npm',
      comment: 'firmware/core has no I/O: no node:* builtin and no npm package',
      severity: 'error',
      from: { path: CORE },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    layer('drivers', DRIVERS, [CORE], 'drivers/ may use the core (address parsing, frame layout) and nothing above it'),
    layer('config', CONFIG, [CORE], 'firmware/config may use the core only'),
    layer('runtime', RUNTIME, [], 'firmware/runtime (log, version, node flags) depends on nothing of ours'),
    layer('engine', ENGINE, [CORE, CONFIG, RUNTIME, DRIVERS], 'the engine sits on core, config, runtime and drivers'),
    layer('telemetry', TELEMETRY, [CORE, CONFIG, RUNTIME], 'telemetry sits on core, config and runtime'),
    layer('ota', OTA, [CORE, RUNTIME], 'the OTA agent sits on core and runtime'),
    layer(
      'supervisor',
      SUPERVISOR,
      [
        CORE,
        CONFIG,
        RUNTIME,
        TELEMETRY,
        OTA,
        '^firmware/engine/protocol\\.ts$',
        '^drivers/(exit|sd-notify|state-lock)\\.ts$',
      ],
      'the supervisor talks to the engine by messages only (engine/protocol.ts); it never loads engine code on the main thread',
    ),
    layer('commands', COMMANDS, [CORE, CONFIG, RUNTIME, SUPERVISOR], 'command modules sit on the supervisor and below'),
    layer(
      'cli-entry',
      '^firmware/tandem\\.ts$',
      [COMMANDS, RUNTIME, '^ota/cli\\.ts$'],
      'the CLI entry loads command modules only',
    ),
    {
      name: 'shipped-code-never-imports-lab-bench-test',
      comment: 'the appliance bundle carries no lab, bench or test kit',
      severity: 'error',
      from: { path: '^(firmware|drivers|ota)/' },
      to: { path: '^(lab|bench|test)/' },
    },
    {
      name: 'lab-not-test-or-bench',
      comment: 'the lab is a product of its own for people: it does not import tests or benchmarks',
      severity: 'error',
      from: { path: '^lab/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'every relative import resolves to a file',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: '^\\.\\.?/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.json'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
