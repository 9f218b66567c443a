// Who may make this node do what over MQTT. The broker's ACL decides who may publish to
// <prefix>/<node>/cmd/+; this file is the node's own, second line:
//  - an allowlist of command names (read-only `status` unless the config lists more);
//  - optional signed commands: Ed25519 over the exact request bytes, which name the node, the
//    command, a time and a nonce, so a signed request cannot be replayed, moved to another node
//    or to another command; keys are PEM files, as the OTA trusted keys, with the same key id;
//  - where a reply may go: only under the node's own reply topic;
//  - the key that de-duplicates a repeated request (see requestKey).
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CommandName } from './commands.ts';

/** Commands that only read: allowed when the config says nothing. */
export const READ_ONLY_COMMANDS: readonly CommandName[] = ['status'];
/** Default replay window: a signed request older or newer than this (by its `ts`) is refused. */
export const DEFAULT_REPLAY_WINDOW_MS = 60_000;
/** Nonces remembered inside the replay window; more than this in one window are refused. */
export const MAX_NONCES = 4096;

export interface CommandAuthConfig {
  allow: readonly string[]; // command names this node executes
  trustedKeys: readonly string[]; // PEM paths; non-empty = every command must be signed
  replayWindowMs: number;
}

export type AuthRefusal =
  | 'not-allowed'
  | 'signature-required'
  | 'bad-signature'
  | 'unknown-key'
  | 'wrong-node'
  | 'wrong-command'
  | 'stale'
  | 'replayed'
  | 'bad-request';

export type Unwrapped =
  | { ok: true; body: Uint8Array; keyId: string | null; nonce: string | null }
  | { ok: false; code: AuthRefusal; message: string };

/** Key id: the first 16 hex digits of sha256 over the SPKI DER (as ota/manifest.ts keyId). */
export function commandKeyId(pub: KeyObject): string {
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * A signed request, as published to <prefix>/<node>/cmd/<name>:
 *   { "signed": base64(INNER), "key_id": "<16 hex>", "sig": base64(Ed25519(INNER)) }
 * INNER is the JSON text { "node", "cmd", "ts" (ms since the epoch), "nonce", "id"?, "args"? }.
 * The signature covers INNER's bytes as sent: no canonical form to get wrong.
 */
export function signCommand(
  priv: KeyObject,
  inner: { node: string; cmd: string; ts: number; nonce: string; id?: string; args?: Record<string, unknown> },
): string {
  const bytes = Buffer.from(JSON.stringify(inner));
  return JSON.stringify({
    signed: bytes.toString('base64'),
    key_id: commandKeyId(createPublicKey(priv)),
    sig: sign(null, bytes, priv).toString('base64'),
  });
}

export class CommandAuth {
  private readonly allow: ReadonlySet<string>;
  private readonly keys = new Map<string, KeyObject>();
  readonly keyErrors: string[] = [];
  private readonly nonces = new Map<string, number>(); // nonce -> ts, oldest first
  readonly signed: boolean;

  constructor(
    private readonly cfg: CommandAuthConfig,
    private readonly node: string,
    readKey: (path: string) => string = (p) => readFileSync(p, 'utf8'),
  ) {
    this.allow = new Set(cfg.allow);
    for (const path of cfg.trustedKeys) {
      try {
        const key = createPublicKey(readKey(path));
        if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key is ${key.asymmetricKeyType}, expected ed25519`);
        this.keys.set(commandKeyId(key), key);
      } catch (e) {
        this.keyErrors.push(`${path}: ${(e as Error).message}`);
      }
    }
    // Keys were asked for: never fall back to unsigned because none loaded (fail closed).
    this.signed = cfg.trustedKeys.length > 0;
  }

  allowed(name: string): boolean {
    return this.allow.has(name);
  }

  /** Checks the signature wrapper (when signing is on) and returns the request body inside. */
  unwrap(name: string, payload: Uint8Array, nowMs: number): Unwrapped {
    if (!this.signed) return { ok: true, body: payload, keyId: null, nonce: null };
    let outer: unknown;
    try {
      outer = JSON.parse(Buffer.from(payload).toString('utf8'));
    } catch {
      return { ok: false, code: 'signature-required', message: 'this node takes signed commands only' };
    }
    if (!isObject(outer) || typeof outer.signed !== 'string' || typeof outer.sig !== 'string')
      return { ok: false, code: 'signature-required', message: 'this node takes signed commands only' };
    const extra = Object.keys(outer).filter((k) => !['signed', 'sig', 'key_id'].includes(k));
    if (extra.length) return { ok: false, code: 'bad-request', message: `unknown field '${extra[0].slice(0, 32)}'` };
    const key = typeof outer.key_id === 'string' ? this.keys.get(outer.key_id) : undefined;
    if (!key) return { ok: false, code: 'unknown-key', message: 'the signing key is not trusted by this node' };
    const body = Buffer.from(outer.signed, 'base64');
    let good = false;
    try {
      good = verify(null, body, key, Buffer.from(outer.sig, 'base64'));
    } catch {
      good = false;
    }
    if (!good) return { ok: false, code: 'bad-signature', message: 'the signature does not verify' };
    let inner: unknown;
    try {
      inner = JSON.parse(body.toString('utf8'));
    } catch {
      return { ok: false, code: 'bad-request', message: 'the signed request is not JSON' };
    }
    if (!isObject(inner)) return { ok: false, code: 'bad-request', message: 'the signed request must be an object' };
    if (inner.node !== this.node)
      return { ok: false, code: 'wrong-node', message: 'the signed request names another node' };
    if (inner.cmd !== name)
      return { ok: false, code: 'wrong-command', message: 'the signed request names another command' };
    const ts = inner.ts;
    if (typeof ts !== 'number' || !Number.isFinite(ts) || Math.abs(nowMs - ts) > this.cfg.replayWindowMs)
      return {
        ok: false,
        code: 'stale',
        message: `the signed request's ts is not within ${this.cfg.replayWindowMs / 1000} s of this node's clock`,
      };
    const nonce = inner.nonce;
    if (typeof nonce !== 'string' || nonce.length < 8 || nonce.length > 64)
      return { ok: false, code: 'bad-request', message: 'nonce must be a string of 8..64 characters' };
    // The caller answers an exact repeat from its reply cache before asking here; a nonce seen
    // again now is a replay of another request, or a replay after the cache forgot it.
    this.forgetOld(nowMs);
    const seenKey = `${outer.key_id}:${nonce}`;
    if (this.nonces.has(seenKey)) return { ok: false, code: 'replayed', message: 'this nonce was already used' };
    if (this.nonces.size >= MAX_NONCES)
      return { ok: false, code: 'replayed', message: 'too many signed requests in the replay window' };
    this.nonces.set(seenKey, ts);
    // The node, cmd, ts and nonce are the wrapper's: the request is { id, args }.
    const { node: _n, cmd: _c, ts: _t, nonce: _o, ...rest } = inner;
    return { ok: true, body: Buffer.from(JSON.stringify(rest)), keyId: outer.key_id as string, nonce };
  }

  private forgetOld(nowMs: number): void {
    for (const [k, ts] of this.nonces) {
      if (Math.abs(nowMs - ts) <= this.cfg.replayWindowMs) continue;
      this.nonces.delete(k);
    }
  }
}

/**
 * Where a reply may go: the node's own reply topic or a topic under it. A Response Topic
 * elsewhere (another node's state, a retained topic a dashboard trusts) is replaced by the
 * node's reply topic, so a command cannot make the node publish where the requester chooses.
 */
export function confineResponseTopic(requested: string | undefined, replyTopic: string): string {
  if (!requested) return replyTopic;
  if (requested === replyTopic) return requested;
  if (requested.startsWith(`${replyTopic}/`) && !/[#+\0]/.test(requested) && requested.length <= 512) return requested;
  return replyTopic;
}

/**
 * The reply-cache key of a request. A request id alone is not enough: whoever can publish could
 * send `{id: "op-42"}` first with other arguments, and the operator's real request would be
 * answered with that reply and never run. So the key is the id (or Correlation Data) together
 * with a hash of the exact payload bytes and, for signed requests, the key id: only an identical
 * request (a retry, a duplicate delivery) is answered from the cache; a different request that
 * borrows the id runs on its own.
 */
export function requestKey(
  name: string,
  id: string | null,
  corr: Uint8Array | undefined,
  payload: Uint8Array,
): string | null {
  if (id === null && !corr) return null;
  const h = createHash('sha256').update(payload).digest('hex').slice(0, 32);
  const who = id !== null ? `id:${id}` : `corr:${Buffer.from(corr!).toString('hex')}`;
  return `${name}:${who}:${h}`;
}
