// `tandem reload`: asks the running daemon to re-read its configuration (as SIGHUP does).
import { parseArgs } from 'node:util';
import type { ReloadResult } from '../core/status.ts';
import { request } from '../supervisor/control-socket.ts';
import { socketFrom } from './socket.ts';

/** A reload waits for handovers of restarted instances (Master_Down_Interval at most). */
const RELOAD_TIMEOUT_MS = 30_000;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: tandem reload [--socket PATH | --config FILE]\nAsks the daemon to re-read its config (as SIGHUP does).\n',
    );
    return 0;
  }
  const r = await request(socketFrom(values), { cmd: 'reload' }, RELOAD_TIMEOUT_MS);
  if (!r.ok) {
    process.stderr.write(`tandem reload: ${r.error?.message}\n`);
    return 1;
  }
  const res = r.result as ReloadResult;
  if (!res.ok) {
    process.stderr.write(`tandem reload: rejected, the running configuration is kept:\n${res.errors.join('\n')}\n`);
    return 1;
  }
  process.stdout.write(
    `reloaded: kept ${res.kept.length}, restarted ${res.restarted.length}, added ${res.added.length}, removed ${res.removed.length}\n`,
  );
  return 0;
}
