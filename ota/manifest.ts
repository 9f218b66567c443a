// The bundle manifest and its signature. The manifest is the only thing signed: it names every
// payload file with its sha256 and size, so one Ed25519 signature over its exact bytes covers the
// whole bundle (the same scheme as RAUC's signed manifest and Mender's signed header).
//
// Checks return results, never throw: `{ ok: true } | { ok: false, reason, detail }`.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const MANIFEST_NAME = 'manifest.json';
export const SIGNATURE_NAME = 'manifest.sig';
export const PAYLOAD_DIR = 'payload';
export const MANIFEST_SCHEMA = 1;

export type TargetOs = 'linux' | 'netbsd';
export type TargetArch = 'x64' | 'arm64' | 'arm';

export interface ManifestFile {
  /** Path under payload/, forward slashes. */
  path: string;
  sha256: string;
  size: number;
  /** Unix permission bits (e.g. 0o755 for the launcher). */
  mode: number;
}

export interface Manifest {
  schema: number;
  name: string;
  version: string;
  target: { os: TargetOs; arch: TargetArch };
  /** process.versions.modules of the Node.js that must run it (native addons are ABI-bound). */
  node: { abi: string; version: string };
  /** Monotonic anti-rollback index: an agent refuses one lower than the confirmed install. */
  rollbackIndex: number;
  /** ISO 8601 build time. */
  buildTime: string;
  files: ManifestFile[];
  /** Native addons found in the payload, with the CPU their ELF header names. */
  natives: { path: string; machine: string }[];
}

/** manifest.sig: which key signed (so a wrong key and a tampered manifest tell apart) and the signature. */
export interface SignatureFile {
  alg: 'ed25519';
  keyId: string;
  sig: string;
}

export type VerifyReason =
  | 'untrusted-signature'
  | 'bad-signature'
  | 'bad-manifest'
  | 'wrong-target'
  | 'abi-mismatch'
  | 'downgrade'
  | 'digest-mismatch'
  | 'unexpected-file'
  | 'missing-file';

export type Check = { ok: true } | { ok: false; reason: VerifyReason; detail: string };

const ok: Check = { ok: true };
const fail = (reason: VerifyReason, detail: string): Check => ({ ok: false, reason, detail });

/** Key id: the first 16 hex digits of sha256 over the SPKI DER of the public key. */
export function keyId(pub: KeyObject): string {
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Load a trusted key from PEM text or a path to a PEM file (a private key yields its public half). */
export function loadPublicKey(pemOrPath: string): KeyObject {
  const pem = pemOrPath.includes('-----BEGIN') ? pemOrPath : readFileSync(pemOrPath, 'utf8');
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`trusted key is ${key.asymmetricKeyType}, expected ed25519`);
  return key;
}

export function loadPrivateKey(pemOrPath: string): KeyObject {
  const pem = pemOrPath.includes('-----BEGIN') ? pemOrPath : readFileSync(pemOrPath, 'utf8');
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`signing key is ${key.asymmetricKeyType}, expected ed25519`);
  return key;
}

/** Sign the exact manifest bytes. */
export function signManifest(manifestBytes: Uint8Array, priv: KeyObject): SignatureFile {
  const pub = createPublicKey(priv);
  return { alg: 'ed25519', keyId: keyId(pub), sig: sign(null, manifestBytes, priv).toString('base64') };
}

/** Check a signature file against the trusted keys. */
export function checkSignature(manifestBytes: Uint8Array, sigBytes: Uint8Array, trusted: KeyObject[]): Check {
  let sig: SignatureFile;
  try {
    sig = JSON.parse(Buffer.from(sigBytes).toString('utf8'));
  } catch {
    return fail('bad-signature', 'manifest.sig is not JSON');
  }
  if (sig?.alg !== 'ed25519' || typeof sig.sig !== 'string' || typeof sig.keyId !== 'string') {
    return fail('bad-signature', 'manifest.sig lacks alg/keyId/sig');
  }
  const key = trusted.find((k) => keyId(k) === sig.keyId);
  if (!key) {
    return fail(
      'untrusted-signature',
      `signed by key ${sig.keyId}, trusted: ${trusted.map(keyId).join(', ') || 'none'}`,
    );
  }
  const raw = Buffer.from(sig.sig, 'base64');
  if (raw.length !== 64 || !verify(null, manifestBytes, key, raw)) {
    return fail('bad-signature', `signature by key ${sig.keyId} does not match the manifest bytes`);
  }
  return ok;
}

/** Parse and shape-check a manifest. */
export function parseManifest(
  bytes: Uint8Array,
): { ok: true; manifest: Manifest } | { ok: false; reason: 'bad-manifest'; detail: string } {
  let m: Manifest;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    return { ok: false, reason: 'bad-manifest', detail: `not JSON: ${(e as Error).message}` };
  }
  const bad = (detail: string) => ({ ok: false as const, reason: 'bad-manifest' as const, detail });
  if (!m || typeof m !== 'object') return bad('not an object');
  if (m.schema !== MANIFEST_SCHEMA) return bad(`schema ${m.schema}, this agent reads ${MANIFEST_SCHEMA}`);
  if (typeof m.version !== 'string' || typeof m.name !== 'string') return bad('name/version missing');
  if (!m.target || typeof m.target.os !== 'string' || typeof m.target.arch !== 'string') return bad('target missing');
  if (!m.node || typeof m.node.abi !== 'string') return bad('node.abi missing');
  if (!Number.isSafeInteger(m.rollbackIndex) || m.rollbackIndex < 0)
    return bad('rollbackIndex must be an integer >= 0');
  if (!Array.isArray(m.files)) return bad('files missing');
  const seen = new Set<string>();
  for (const f of m.files) {
    if (typeof f?.path !== 'string' || !isSafeRelPath(f.path)) return bad(`unsafe path ${JSON.stringify(f?.path)}`);
    if (seen.has(f.path)) return bad(`duplicate path ${f.path}`);
    seen.add(f.path);
    if (!/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isSafeInteger(f.size) || f.size < 0)
      return bad(`bad digest/size for ${f.path}`);
  }
  if (!Array.isArray(m.natives)) m.natives = [];
  return { ok: true, manifest: m };
}

/** No absolute paths, no `..`, no empty or dot segments, no backslashes. */
export function isSafeRelPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

export interface InstallContext {
  target: { os: string; arch: string };
  /** ABI of the Node.js that will run the new slot. */
  nodeAbi: string;
  /** Anti-rollback index of the confirmed install (0 when none). */
  installedIndex: number;
  allowDowngrade: boolean;
}

/** Does this manifest fit this machine? Order: target, ABI, rollback index. */
export function checkCompatible(m: Manifest, ctx: InstallContext): Check {
  if (m.target.os !== ctx.target.os || m.target.arch !== ctx.target.arch) {
    return fail(
      'wrong-target',
      `built for ${m.target.os}/${m.target.arch}, this is ${ctx.target.os}/${ctx.target.arch}`,
    );
  }
  if (m.node.abi !== ctx.nodeAbi) {
    return fail(
      'abi-mismatch',
      `needs Node.js ABI ${m.node.abi} (Node ${m.node.version}), the runtime has ABI ${ctx.nodeAbi}`,
    );
  }
  if (m.rollbackIndex < ctx.installedIndex && !ctx.allowDowngrade) {
    return fail('downgrade', `index ${m.rollbackIndex} < installed ${ctx.installedIndex}`);
  }
  return ok;
}

/** Node.js major version -> process.versions.modules, for runtimes we cannot run here. */
export const NODE_ABI_BY_MAJOR: Record<number, string> = {
  18: '108',
  20: '115',
  21: '120',
  22: '127',
  23: '131',
  24: '137',
};

/** The CPU an ELF file is built for, from e_machine (ELF spec: offset 18, 2 bytes, EI_DATA order). */
export function elfMachine(head: Uint8Array): string | null {
  if (head.length < 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return null;
  const le = head[5] === 1;
  const m = le ? head[18] | (head[19] << 8) : (head[18] << 8) | head[19];
  switch (m) {
    case 0x3e:
      return 'x64';
    case 0xb7:
      return 'arm64';
    case 0x28:
      return 'arm';
    case 0x03:
      return 'ia32';
    case 0xf3:
      return 'riscv64';
    default:
      return `elf-machine-${m}`;
  }
}
