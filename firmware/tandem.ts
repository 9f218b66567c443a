// tandem's command line. Each command lives in its own module, exporting
// `main(argv: string[]): Promise<number>` (the exit code); they are loaded on demand so that
// `tandem --version` does not load FFI or pcap.
import { VERSION } from './runtime/version.ts';

type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Main> }> = {
  run: {
    summary: 'run the daemon in the foreground',
    load: async () => (await import('./commands/run.ts')).main,
  },
  status: {
    summary: "show the running daemon's instances and counters",
    load: async () => (await import('./commands/status.ts')).main,
  },
  reload: {
    summary: 're-read the configuration (as SIGHUP)',
    load: async () => (await import('./commands/reload.ts')).main,
  },
  check: { summary: 'validate a configuration file', load: async () => (await import('./commands/check.ts')).main },
  import: {
    summary: 'convert a keepalived.conf into tandem YAML',
    load: async () => (await import('./commands/import.ts')).main,
  },
  ota: {
    summary: 'update the firmware (apply|status|confirm|rollback)',
    load: async () => (await import('../ota/cli.ts')).main,
  },
};

const HELP = () => `tandem ${VERSION}: VRRP (RFC 5798 v3 / RFC 3768 v2) router redundancy

Usage: tandem <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`)
  .join('\n')}

Options:
  -h, --help     this text (or \`tandem <command> --help\`)
  -V, --version  print the version and exit
`;

export async function cli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(HELP());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '-V' || cmd === '--version' || cmd === 'version') {
    process.stdout.write(`tandem ${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`tandem: unknown command '${cmd}' (see tandem --help)\n`);
    return 2;
  }
  return (await entry.load())(rest);
}

cli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tandem: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
