// Commands as operators send them (control socket JSON, MQTT payloads): checked field by field
// here, so the engine only ever sees well-typed requests. A wrong type is refused, never coerced.
import { CommandError } from '../core/errors.ts';

export type OperatorCommand =
  | { cmd: 'status' }
  | { cmd: 'reload' }
  | { cmd: 'set-priority'; instance: string; value: number | null }
  | { cmd: 'maintenance'; on: boolean; instance?: string };

/** The arguments each command takes (`cmd` is the control socket's own member). */
const ARGUMENTS: Record<string, readonly string[]> = {
  status: [],
  reload: [],
  'set-priority': ['instance', 'value'],
  maintenance: ['on', 'instance'],
};

/** Parses `args` of command `name`; throws CommandError('bad-argument' | 'unknown-command'). */
export function parseOperatorCommand(name: unknown, args: Record<string, unknown>): OperatorCommand {
  const known = typeof name === 'string' && Object.hasOwn(ARGUMENTS, name) ? ARGUMENTS[name] : undefined;
  const extra = known && Object.keys(args).find((k) => k !== 'cmd' && !known.includes(k));
  if (extra !== undefined)
    throw new CommandError('bad-argument', `unknown argument '${extra.slice(0, 32)}' for ${String(name)}`);
  switch (name) {
    case 'status':
      return { cmd: 'status' };
    case 'reload':
      return { cmd: 'reload' };
    case 'set-priority': {
      if (typeof args.instance !== 'string') throw new CommandError('bad-argument', '"instance" (string) is required');
      const v = args.value;
      if (v !== null && v !== undefined && !(typeof v === 'number' && Number.isInteger(v)))
        throw new CommandError(
          'bad-argument',
          '"value" must be an integer 1..254 (not a string or a boolean), or null to restore the configured one',
        );
      return { cmd: 'set-priority', instance: args.instance, value: v ?? null };
    }
    case 'maintenance': {
      if (typeof args.on !== 'boolean') throw new CommandError('bad-argument', '"on" (boolean) is required');
      if (args.instance !== undefined && typeof args.instance !== 'string')
        throw new CommandError('bad-argument', '"instance" must be a string');
      return { cmd: 'maintenance', on: args.on, ...(args.instance !== undefined ? { instance: args.instance } : {}) };
    }
    default:
      throw new CommandError('unknown-command', `unknown command '${String(name)}'`);
  }
}
