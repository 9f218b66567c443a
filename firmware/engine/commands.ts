// The engine's side of a command (parsed and type-checked by the supervisor): status, reload,
// set-priority, maintenance. Shared by the control socket and MQTT.
import type { Engine } from './engine.ts';
import type { EngineReplies, EngineRequest } from './protocol.ts';

export async function handleRequest(engine: Engine, req: EngineRequest): Promise<EngineReplies[keyof EngineReplies]> {
  switch (req.cmd) {
    case 'status':
      return engine.status();
    case 'reload':
      return engine.reload(req.config);
    case 'set-priority':
      engine.setPriority(req.instance, req.value);
      return { instance: req.instance, priority: req.value };
    case 'maintenance':
      return { instances: engine.maintenance(req.on, req.instance), on: req.on };
    default: {
      const never: never = req;
      throw new Error(`unknown request ${JSON.stringify(never)}`);
    }
  }
}
