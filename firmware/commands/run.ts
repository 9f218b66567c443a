// `tandem run`: the daemon in the foreground (firmware/supervisor/).
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../config/index.ts';
import type { LogLevel } from '../runtime/log.ts';
import { runSupervisor } from '../supervisor/supervisor.ts';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

const HELP = `Usage: tandem run [--config FILE] [--log-level LEVEL]

Runs tandem in the foreground, logging one JSON object per line to stdout.
  --config FILE      default ${DEFAULTS.configFile}
  --log-level LEVEL  ${LOG_LEVELS.join('|')} (default: the config's log.level, else info)
Signals: SIGTERM/SIGINT hand mastership over (priority 0, make-before-break) and exit after
restoring addresses and MACs; a second one exits at once. SIGHUP re-reads the config.
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c', default: DEFAULTS.configFile },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const level = values['log-level'];
  if (level !== undefined && !LOG_LEVELS.includes(level as LogLevel)) {
    process.stderr.write(`tandem run: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }
  return runSupervisor(values.config ?? DEFAULTS.configFile, level as LogLevel | undefined);
}
