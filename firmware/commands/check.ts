// `tandem check [--config FILE]`: validate a configuration without touching the network.
// Exit 0 and "FILE: ok (N instances)" when it is usable (warnings are printed too), exit 1 with
// every problem as FILE:LINE: path: reason on stderr, exit 2 for a bad command line.
import { parseArgs } from 'node:util';
import { DEFAULTS, formatIssue, loadConfig } from '../config/index.ts';
import type { ConfigOptions } from '../config/index.ts';
import { checkFileModes, trustedFiles } from '../supervisor/file-modes.ts';

export const DEFAULT_CONFIG = DEFAULTS.configFile;

const HELP = `Usage: tandem check [--config FILE]

Validates a tandem configuration (and its board file) and prints every problem as
FILE:LINE: path: reason. Warnings do not fail the check. Like the daemon at start, it also fails
when a file tandem trusts (the config, scripts, keys) is writable by group or others.

Options:
  -c, --config FILE  the configuration to check (default ${DEFAULT_CONFIG})
  -h, --help         this text

Exit status: 0 valid, 1 invalid, 2 bad usage.
`;

export interface CheckIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  options?: ConfigOptions;
  /** The user the daemon runs as, for the file-mode check (default: this process's). */
  uid?: number;
}

const processIo: CheckIo = {
  stdout: (s) => {
    process.stdout.write(s);
  },
  stderr: (s) => {
    process.stderr.write(s);
  },
};

export async function main(argv: string[], io: CheckIo = processIo): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    io.stderr(`tandem check: ${e instanceof Error ? e.message : String(e)} (see tandem check --help)\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const file = values.config ?? DEFAULT_CONFIG;
  const r = loadConfig(file, io.options);
  const lines = (r.ok ? [] : r.errors.map(formatIssue)).concat(
    r.warnings.map((w) => formatIssue({ ...w, reason: `warning: ${w.reason}` })),
  );
  if (lines.length) io.stderr(`${lines.join('\n')}\n`);
  if (!r.ok) return 1;
  // The daemon refuses to start (and a reload) when a file it trusts could be changed by someone
  // else (issue #12): say so here too, with the daemon's words.
  const modes = checkFileModes(trustedFiles(r.config, file), io.uid);
  if (modes.length) {
    io.stderr(`${modes.map((m) => `${file}: error: ${m}`).join('\n')}\n`);
    return 1;
  }
  const n = r.config.instances.length;
  const k = r.config.clusters?.length ?? 0;
  const clusters = k ? `, ${k} cluster${k === 1 ? '' : 's'}` : '';
  io.stdout(`${file}: ok (${n} instance${n === 1 ? '' : 's'}${clusters})\n`);
  return 0;
}
