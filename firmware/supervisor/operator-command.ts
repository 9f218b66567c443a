// Commands as operators send them (control socket JSON, MQTT payloads): checked field by field
// here, so the engine only ever sees well-typed requests. A wrong type is refused, never coerced.
import { CommandError } from '../core/errors.ts';

export type OperatorCommand =
  | { cmd: 'status' }
  | { cmd: 'reload' }
  | { cmd: 'set-priority'; instance: string; value: number | null }
  | { cmd: 'maintenance'; on: boolean; instance?: string };

export const OPERATOR_COMMANDS: readonly OperatorCommand['cmd'][] = ['status', 'reload', 'set-priority', 'maintenance'];

/** Parses `args` of command `name`; throws CommandError('bad-argument' | 'unknown-command'). */
export function parseOperatorCommand(name: unknown, args: Record<string, unknown>): OperatorCommand {
  switch (name) {
    case 'status':
      return { cmd: 'status' };
    case 'reload':
      return { cmd: 'reload' };
    case 'set-priority': {
      if (typeof args.instance !== 'string') throw new CommandError('bad-argument', '"instance" (string) is required');
      const v = args.value;
      if (v !== null && v !== undefined && typeof v !== 'number')
        throw new CommandError(
          'bad-argument',
          '"value" must be a number 1..254, or null to restore the configured one',
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
