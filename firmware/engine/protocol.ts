// The messages between the supervisor (main thread) and the protocol engine (worker thread).
// The supervisor reads and validates the configuration and hands it over whole, at start and at
// every reload, so the two threads never hold different versions of it.
import type { TandemConfig } from '../config/types.ts';
import type { LogLevel } from '../runtime/log.ts';
import type { EngineEvent, EngineStatus, ReloadResult } from '../core/status.ts';

/** What the engine can be asked, already type-checked (see parseCommand in the supervisor). */
export type EngineRequest =
  | { cmd: 'status' }
  | { cmd: 'reload'; config: TandemConfig }
  | { cmd: 'set-priority'; instance: string; value: number | null }
  | { cmd: 'maintenance'; on: boolean; instance?: string };

/** The answer to each request, by its `cmd`. */
export interface EngineReplies {
  status: EngineStatus;
  reload: ReloadResult;
  'set-priority': { instance: string; priority: number | null };
  maintenance: { instances: string[]; on: boolean };
}
export type EngineReply<R extends EngineRequest> = EngineReplies[R['cmd']];

export interface EngineFailure {
  code: string;
  message: string;
}

export type ToEngine =
  | { t: 'start'; config: TandemConfig; logLevel: LogLevel }
  | { t: 'req'; id: number; req: EngineRequest }
  | { t: 'stop' };

export type FromEngine =
  | { t: 'started'; bootId: string; status: EngineStatus }
  | { t: 'start-failed'; error: string }
  | { t: 'res'; id: number; ok: true; result: EngineReplies[keyof EngineReplies] }
  | { t: 'res'; id: number; ok: false; error: EngineFailure }
  | { t: 'event'; e: EngineEvent }
  | { t: 'status'; s: EngineStatus }
  | { t: 'stopped' };
