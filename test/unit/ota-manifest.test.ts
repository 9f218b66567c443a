import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey } from 'node:crypto';
import {
  checkCompatible,
  checkSignature,
  elfMachine,
  isSafeRelPath,
  keyId,
  loadPublicKey,
  parseManifest,
  signManifest,
  type Manifest,
} from '../../ota/manifest.ts';
import { importedPackages } from '../../ota/bundle.ts';
import { indexFromVersion } from '../../ota/build-cli.ts';
import { makeKey } from '../kit/ota.ts';

const manifest = (over: Partial<Manifest> = {}): Manifest => ({
  schema: 1,
  name: 'tandem',
  version: '1.2.3',
  target: { os: 'linux', arch: 'x64' },
  node: { abi: '115', version: '20.20.2' },
  rollbackIndex: 5,
  buildTime: '2025-01-01T00:00:00.000Z',
  files: [{ path: 'tandem.js', sha256: 'a'.repeat(64), size: 10, mode: 0o755 }],
  natives: [],
  ...over,
});
const bytes = (m: Manifest) => Buffer.from(JSON.stringify(m));

test('a signature by a trusted key over the exact manifest bytes verifies', () => {
  const k = makeKey();
  const mb = bytes(manifest());
  const sig = Buffer.from(JSON.stringify(signManifest(mb, k.priv)));
  assert.equal(checkSignature(mb, sig, [loadPublicKey(k.pubPem)]), { ok: true });
});

test('a signature by another key is untrusted-signature and names both key ids', () => {
  const signer = makeKey(),
    trusted = makeKey();
  const mb = bytes(manifest());
  const r = checkSignature(mb, Buffer.from(JSON.stringify(signManifest(mb, signer.priv))), [
    loadPublicKey(trusted.pubPem),
  ]);
  assert.is(r.ok, false);
  if (r.ok) return;
  assert.is(r.reason, 'untrusted-signature');
  assert.ok(r.detail.includes(keyId(createPublicKey(signer.priv))));
  assert.ok(r.detail.includes(keyId(loadPublicKey(trusted.pubPem))));
});

test('one flipped byte in the manifest is bad-signature', () => {
  const k = makeKey();
  const mb = bytes(manifest());
  const sig = Buffer.from(JSON.stringify(signManifest(mb, k.priv)));
  const tampered = Buffer.from(mb);
  tampered[tampered.indexOf('1.2.3')] ^= 0x01; // 1.2.3 -> 0.2.3
  const r = checkSignature(tampered, sig, [loadPublicKey(k.pubPem)]);
  assert.equal(r.ok ? 'ok' : r.reason, 'bad-signature');
});

test('a garbled signature file is bad-signature, not a throw', () => {
  const k = makeKey();
  for (const s of [
    '',
    'not json',
    '{"alg":"rsa"}',
    JSON.stringify({ alg: 'ed25519', keyId: keyId(loadPublicKey(k.pubPem)), sig: 'AAAA' }),
  ]) {
    const r = checkSignature(bytes(manifest()), Buffer.from(s), [loadPublicKey(k.pubPem)]);
    assert.equal(r.ok ? 'ok' : r.reason, 'bad-signature', s);
  }
});

test('a trusted key may be given as a path or PEM text; a non-Ed25519 key is refused', () => {
  const k = makeKey();
  assert.is(loadPublicKey(k.privPem).asymmetricKeyType, 'ed25519'); // private PEM yields its public half
  assert.throws(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'));
});

test('parseManifest refuses unsafe paths, duplicates, bad digests and a missing index', () => {
  const rows: [string, Partial<Manifest>][] = [
    [
      'unsafe path "../etc/passwd"',
      { files: [{ path: '../etc/passwd', sha256: 'a'.repeat(64), size: 1, mode: 0o644 }] },
    ],
    ['unsafe path "/abs"', { files: [{ path: '/abs', sha256: 'a'.repeat(64), size: 1, mode: 0o644 }] }],
    [
      'duplicate path x',
      {
        files: [
          { path: 'x', sha256: 'a'.repeat(64), size: 1, mode: 0o644 },
          { path: 'x', sha256: 'a'.repeat(64), size: 1, mode: 0o644 },
        ],
      },
    ],
    ['bad digest/size for x', { files: [{ path: 'x', sha256: 'XYZ', size: 1, mode: 0o644 }] }],
    ['rollbackIndex must be an integer >= 0', { rollbackIndex: -1 }],
    ['schema 2, this agent reads 1', { schema: 2 }],
  ];
  for (const [detail, over] of rows) {
    const r = parseManifest(bytes(manifest(over)));
    assert.equal(r.ok ? 'ok' : r.detail, detail);
  }
  assert.equal(parseManifest(Buffer.from('{')).ok, false);
  assert.ok(parseManifest(bytes(manifest())).ok);
});

test('isSafeRelPath keeps paths inside the slot', () => {
  for (const p of ['a', 'a/b.js', 'node_modules/@x/y/index.js']) assert.ok(isSafeRelPath(p), p);
  for (const p of ['', '/a', 'a/../b', './a', 'a//b', 'a\\b', 'a/.']) assert.not.ok(isSafeRelPath(p), p);
});

test('checkCompatible: wrong target names both, ABI, downgrade and its override', () => {
  const ctx = { target: { os: 'linux', arch: 'x64' }, nodeAbi: '115', installedIndex: 5, allowDowngrade: false };
  const wt = checkCompatible(manifest({ target: { os: 'netbsd', arch: 'x64' } }), ctx);
  assert.equal(wt, { ok: false, reason: 'wrong-target', detail: 'built for netbsd/x64, this is linux/x64' });
  const abi = checkCompatible(manifest({ node: { abi: '127', version: '22.1.0' } }), ctx);
  assert.equal(abi.ok ? 'ok' : abi.reason, 'abi-mismatch');
  const dg = checkCompatible(manifest({ rollbackIndex: 3 }), ctx);
  assert.equal(dg, { ok: false, reason: 'downgrade', detail: 'index 3 < installed 5' });
  assert.equal(checkCompatible(manifest({ rollbackIndex: 3 }), { ...ctx, allowDowngrade: true }), { ok: true });
  assert.equal(checkCompatible(manifest({ rollbackIndex: 5 }), ctx), { ok: true }); // same index: reinstall
});

test('elfMachine reads e_machine from an ELF header (x86-64, aarch64, ARM) and rejects non-ELF', () => {
  const head = (m: number) => {
    const b = Buffer.alloc(20);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    b.writeUInt16LE(m, 18);
    return b;
  };
  assert.is(elfMachine(head(0x3e)), 'x64');
  assert.is(elfMachine(head(0xb7)), 'arm64');
  assert.is(elfMachine(head(0x28)), 'arm');
  assert.is(elfMachine(Buffer.from('MZ not an elf file...')), null);
  assert.is(elfMachine(Buffer.alloc(4)), null);
});

test('importedPackages finds bare imports in an ESM bundle, scoped and dynamic, not builtins or relatives', () => {
  const js = `import a from "koffi";\nimport { b } from 'pino';\nconst c = await import("mqtt/lib/x.js");\nimport "@scope/pkg/sub";\nimport fs from "node:fs";\nimport r from "./rel.js";`;
  assert.equal(importedPackages(js), ['@scope/pkg', 'koffi', 'mqtt', 'pino']);
});

test('the default rollback index rises with the version', () => {
  assert.is(indexFromVersion('0.1.0'), 100);
  assert.is(indexFromVersion('1.2.3'), 10203);
  assert.ok(indexFromVersion('1.10.0') > indexFromVersion('1.9.99'));
});

test.run();
