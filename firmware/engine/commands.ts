// The daemon's commands, shared by the control socket and MQTT: run inside the protocol engine.
import { CommandError, type Daemon } from './engine.ts';

export async function handleCommand(daemon: Daemon, req: Record<string, unknown>): Promise<unknown> {
  switch (req.cmd) {
    case 'status':
      return daemon.status();
    case 'reload':
      return daemon.reload();
    case 'set-priority': {
      if (typeof req.instance !== 'string') throw new CommandError('bad-argument', '"instance" (string) is required');
      const v = req.value === null || req.value === undefined ? null : Number(req.value);
      daemon.setPriority(req.instance, v);
      return { instance: req.instance, priority: v };
    }
    case 'maintenance': {
      if (typeof req.on !== 'boolean') throw new CommandError('bad-argument', '"on" (boolean) is required');
      if (req.instance !== undefined && typeof req.instance !== 'string')
        throw new CommandError('bad-argument', '"instance" must be a string');
      return { instances: daemon.maintenance(req.on, req.instance as string | undefined), on: req.on };
    }
    default:
      throw new CommandError('unknown-command', `unknown command '${String(req.cmd)}'`);
  }
}
