// What the supervisor's services share: the engine, the current config, the logger, and the one
// way every operator command (control socket, MQTT) is executed.
import type { TandemConfig } from '../config/types.ts';
import type { Logger } from '../runtime/log.ts';
import type { EngineClient } from './engine-client.ts';

export interface SupervisorContext {
  engine: EngineClient;
  config: TandemConfig;
  configFile: string;
  log: Logger;
  /** Runs an operator command (parsed by operator-command.ts); rejects with CommandError. */
  execute(name: unknown, args: Record<string, unknown>): Promise<unknown>;
}
