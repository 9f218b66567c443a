// Build-side OTA commands, run by ./build.sh after it has built dist/tandem.js:
//   keygen [--out DIR]                                   Ed25519 signing key pair (PEM)
//   bundle [--key PRIV.pem] [--rollback-index N] [--os linux] [--arch x64] [--out DIR]
//   image --board board-configs/<board>.yaml [--bundle F] [--out F] [--trusted-key PUB.pem]...
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildBundle } from './bundle.ts';
import { buildImage } from './image.ts';
import { loadPrivateKey, type TargetArch, type TargetOs } from './manifest.ts';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const KEY_DIR = join(REPO, 'dist', 'keys'); // dist/ is git-ignored: a private key never lands in a commit
const PRIV = 'tandem-ota.key.pem';
const PUB = 'tandem-ota.pub.pem';

/** Default anti-rollback index from the version: 1.2.3 -> 10203, so it rises with every release. */
export function indexFromVersion(v: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]) : 0;
}

export function keygen(outDir: string): { priv: string; pub: string } {
  mkdirSync(outDir, { recursive: true });
  const priv = join(outDir, PRIV),
    pub = join(outDir, PUB);
  if (existsSync(priv)) throw new Error(`${priv} exists: refusing to overwrite a signing key`);
  const k = generateKeyPairSync('ed25519');
  writeFileSync(priv, k.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(pub, k.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return { priv, pub };
}

function opts(argv: string[], multi: string[] = []): Record<string, string | string[] | true> {
  const o: Record<string, string | string[] | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const k = a.slice(2);
    const v = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : true;
    if (multi.includes(k)) o[k] = [...((o[k] as string[]) ?? []), String(v)];
    else o[k] = v;
  }
  return o;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const rel = (p: string) => relative(process.cwd(), p) || p;
  try {
    if (cmd === 'keygen') {
      const o = opts(rest);
      const { priv, pub } = keygen(resolve(typeof o.out === 'string' ? o.out : KEY_DIR));
      process.stdout.write(
        `private key ${rel(priv)} (keep it off the appliances)\npublic key  ${rel(pub)} (goes into ota.trusted_keys)\n`,
      );
      return 0;
    }
    if (cmd === 'bundle') {
      const o = opts(rest);
      const keyFile = resolve(typeof o.key === 'string' ? o.key : join(KEY_DIR, PRIV));
      if (!existsSync(keyFile))
        throw new Error(`no signing key at ${rel(keyFile)}: run ./build.sh keygen or give --key`);
      const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
      const idx = typeof o['rollback-index'] === 'string' ? Number(o['rollback-index']) : indexFromVersion(version);
      if (!Number.isSafeInteger(idx) || idx < 0) throw new Error('--rollback-index must be an integer >= 0');
      const r = await buildBundle({
        repoRoot: REPO,
        privateKey: loadPrivateKey(keyFile),
        rollbackIndex: idx,
        os: typeof o.os === 'string' ? (o.os as TargetOs) : undefined,
        arch: typeof o.arch === 'string' ? (o.arch as TargetArch) : undefined,
        outDir: typeof o.out === 'string' ? resolve(o.out) : undefined,
      });
      process.stdout.write(
        `${rel(r.file)}: ${r.manifest.version} for ${r.manifest.target.os}/${r.manifest.target.arch}, rollback index ${r.manifest.rollbackIndex}, ` +
          `${r.manifest.files.length} files, ${r.bytes} bytes, signed by key ${r.keyId}\n`,
      );
      return 0;
    }
    if (cmd === 'image') {
      const o = opts(rest, ['trusted-key']);
      if (typeof o.board !== 'string') throw new Error('image needs --board board-configs/<board>.yaml');
      const keys = (o['trusted-key'] as string[] | undefined) ?? [join(KEY_DIR, PUB)];
      const r = await buildImage({
        repoRoot: REPO,
        boardFile: resolve(o.board),
        bundle: typeof o.bundle === 'string' ? resolve(o.bundle) : undefined,
        out: typeof o.out === 'string' ? resolve(o.out) : undefined,
        trustedKeys: keys.map((k) => resolve(k)),
        log: (m) => process.stderr.write(`image: ${m}\n`),
      });
      process.stdout.write(`${rel(r.file)}: board ${r.board}, tandem ${r.version}, runtime ${r.runtime}\n`);
      for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
      return 0;
    }
    process.stderr.write(
      'usage: build-cli.ts keygen [--out DIR] | bundle [--key F] [--rollback-index N] [--os O] [--arch A] | image --board F [--bundle F] [--out F] [--trusted-key F]...\n',
    );
    return 2;
  } catch (e) {
    process.stderr.write(`${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
