// Remote commands: request parsing and the cache that makes a repeated request id idempotent.
// Pure: no MQTT here. A request is the JSON object `{ "id": "...", "args": { ... } }` published
// to <prefix>/<node>/cmd/<name>; both members are optional (3.1.1 callers need `id` to match the
// reply, MQTT 5 callers may use Correlation Data instead).
import type { ReplyBody } from './payloads.ts';

export const COMMANDS = ['status', 'set-priority', 'maintenance', 'reload', 'ota'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Commands that can take long: they are acknowledged with `accepted` before they run. */
export const TWO_PHASE: ReadonlySet<string> = new Set<CommandName>(['reload', 'ota']);

export const MAX_REQUEST_BYTES = 16_384;
export const MAX_ID_CHARS = 128;

export type ParsedRequest =
  | { ok: true; name: CommandName; id: string | null; args: Record<string, unknown> }
  | { ok: false; id: string | null; code: 'unknown-command' | 'bad-json' | 'bad-request'; message: string };

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Decides whether a command message is well formed; never throws. */
export function parseRequest(name: string, payload: Uint8Array): ParsedRequest {
  let id: string | null = null;
  let body: unknown = {};
  if (payload.byteLength > MAX_REQUEST_BYTES) {
    return {
      ok: false,
      id,
      code: 'bad-request',
      message: `request is ${payload.byteLength} bytes, limit ${MAX_REQUEST_BYTES}`,
    };
  }
  if (payload.byteLength > 0) {
    try {
      body = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
    } catch {
      return { ok: false, id, code: 'bad-json', message: 'request payload is not valid JSON' };
    }
  }
  if (!isObject(body)) return { ok: false, id, code: 'bad-request', message: 'request must be a JSON object' };
  // Strict: a misspelt or smuggled member is an error, never silently ignored.
  const unknown = Object.keys(body).find((k) => k !== 'id' && k !== 'args');
  if (body.id !== undefined && body.id !== null) {
    if (typeof body.id === 'number' && Number.isFinite(body.id)) id = String(body.id);
    else if (typeof body.id === 'string' && body.id.length > 0 && body.id.length <= MAX_ID_CHARS) id = body.id;
    else return { ok: false, id, code: 'bad-request', message: `id must be a string of 1..${MAX_ID_CHARS} characters` };
  }
  if (unknown !== undefined)
    return {
      ok: false,
      id,
      code: 'bad-request',
      message: `unknown field '${unknown.slice(0, 32)}' (a request has id and args)`,
    };
  if (!(COMMANDS as readonly string[]).includes(name)) {
    return {
      ok: false,
      id,
      code: 'unknown-command',
      message: `unknown command '${name.slice(0, 64)}'; known: ${COMMANDS.join(', ')}`,
    };
  }
  const args = body.args ?? {};
  if (!isObject(args)) return { ok: false, id, code: 'bad-request', message: 'args must be a JSON object' };
  return { ok: true, name: name as CommandName, id, args };
}

/**
 * The latest reply per request key, most recent `capacity` keys. A key seen again is answered
 * from here (its final reply, or `accepted` while it still runs) and not executed twice.
 */
export class ReplyCache {
  private map = new Map<string, ReplyBody>();
  constructor(readonly capacity = 256) {}

  get size(): number {
    return this.map.size;
  }
  get(key: string): ReplyBody | undefined {
    return this.map.get(key);
  }

  set(key: string, reply: ReplyBody): void {
    this.map.delete(key); // re-insert: Map order is recency order
    this.map.set(key, reply);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}
