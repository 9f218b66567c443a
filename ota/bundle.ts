// Builds a signed update bundle (.tfw): a gzipped tar holding manifest.json, manifest.sig and
// payload/ (the tsup bundle, the standalone OTA helper, the runtime node_modules pruned to
// production dependencies, board configs and the service files).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import * as tar from 'tar';
import { hashFile } from './fsutil.ts';
import {
  elfMachine,
  keyId,
  MANIFEST_NAME,
  MANIFEST_SCHEMA,
  PAYLOAD_DIR,
  SIGNATURE_NAME,
  signManifest,
  type Manifest,
  type ManifestFile,
  type TargetArch,
  type TargetOs,
} from './manifest.ts';

/** Runtime modules the daemon loads from node_modules (tsup keeps them external). */
export const RUNTIME_MODULES = ['koffi', 'pcap', 'mqtt', 'yaml', 'pino'];

export interface BundleOptions {
  /** Repository root (package.json, node_modules, dist/). */
  repoRoot: string;
  privateKey: KeyObject;
  rollbackIndex: number;
  os?: TargetOs;
  arch?: TargetArch;
  /** Defaults to <repoRoot>/dist. */
  outDir?: string;
  /** Defaults to RUNTIME_MODULES plus whatever dist/tandem.js imports from node_modules. */
  modules?: string[];
  /** Build and include payload/tandem-ota.js (default true). */
  otaHelper?: boolean;
  /** Fixed build time (reproducible builds); defaults to now. */
  buildTime?: Date;
}

export interface BundleResult {
  file: string;
  manifest: Manifest;
  keyId: string;
  bytes: number;
}

/** Bare package names that an ESM bundle imports (`from "x"`, `import("x")`), node: builtins excluded. */
export function importedPackages(js: string): string[] {
  const out = new Set<string>();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"'./][^"']*)["']/g;
  for (const m of js.matchAll(re)) {
    const spec = m[1];
    if (spec.startsWith('node:')) continue;
    const parts = spec.split('/');
    out.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return [...out].sort();
}

/** Find a package directory the way Node resolves it: nearest node_modules upward, within repoRoot. */
function resolvePackageDir(name: string, fromDir: string, repoRoot: string): string | null {
  let dir = fromDir;
  for (;;) {
    const cand = join(dir, 'node_modules', name);
    if (existsSync(join(cand, 'package.json'))) return cand;
    if (dir === repoRoot || dirname(dir) === dir) return null;
    dir = dirname(dir);
  }
}

/** Walk production dependencies (and installed optional ones) from the named roots. Types-only packages are skipped. */
export function collectModules(roots: string[], repoRoot: string): { dirs: string[]; missing: string[] } {
  const dirs = new Set<string>();
  const missing: string[] = [];
  const visit = (name: string, from: string, optional: boolean) => {
    if (name.startsWith('@types/')) return;
    const dir = resolvePackageDir(name, from, repoRoot);
    if (!dir) {
      if (!optional) missing.push(name);
      return;
    }
    if (dirs.has(dir)) return;
    dirs.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, dir, false);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, dir, true);
  };
  for (const r of roots) visit(r, repoRoot, false);
  return { dirs: [...dirs].sort(), missing };
}

// Build leftovers and tooling that never run on the appliance. Top-level only: a package's own
// code may live in a nested folder with one of these names (yaml has dist/doc/).
const SKIP_ANYWHERE = new Set(['node_modules', '.bin', 'obj.target', '.deps']);
const SKIP_TOP = new Set(['.github', 'test', 'tests', 'spec', 'example', 'examples', 'doc', 'docs', 'benchmarks']);
const SKIP_FILE =
  /\.(md|markdown|map|ts|mts|cts|tsbuildinfo|gyp|gypi|cc|c|h|hpp|cpp|o|a|mk)$|^(Makefile|Gruntfile\.js|\.npmignore|\.eslintrc.*|\.travis\.yml)$/i;
const KEEP_FILE = /\.d\.ts$/; // harmless, tiny; keeps packages that read their own types happy

async function copyPackage(src: string, dst: string, top = true): Promise<void> {
  await fsp.mkdir(dst, { recursive: true });
  for (const e of await fsp.readdir(src, { withFileTypes: true })) {
    const s = join(src, e.name),
      d = join(dst, e.name);
    if (e.isDirectory()) {
      if (SKIP_ANYWHERE.has(e.name) || (top && SKIP_TOP.has(e.name))) continue;
      await copyPackage(s, d, false);
    } else if (e.isFile()) {
      if (SKIP_FILE.test(e.name) && !KEEP_FILE.test(e.name) && e.name !== 'LICENSE.md') continue;
      await fsp.copyFile(s, d);
      await fsp.chmod(d, (await fsp.stat(s)).mode & 0o777);
    }
  }
}

async function copyTree(src: string, dst: string): Promise<void> {
  await fsp.cp(src, dst, { recursive: true, dereference: true });
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out.sort();
}

/** Bundle the OTA CLI into one file with esbuild (tar and yaml inlined) so a slot can always roll back. */
export async function buildOtaHelper(repoRoot: string, outFile: string): Promise<void> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(repoRoot, 'ota', 'main.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: {
      js: '#!/usr/bin/env node\nimport { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
    },
    logLevel: 'silent',
  });
  await fsp.chmod(outFile, 0o755);
}

export async function buildBundle(o: BundleOptions): Promise<BundleResult> {
  const repoRoot = o.repoRoot;
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const os = o.os ?? (process.platform as TargetOs);
  const arch = o.arch ?? (process.arch as TargetArch);
  const dist = join(repoRoot, 'dist', 'tandem.js');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run ./build.sh first`);
  const stage = await fsp.mkdtemp(join(tmpdir(), 'tandem-bundle-'));
  try {
    const payload = join(stage, PAYLOAD_DIR);
    await fsp.mkdir(payload, { recursive: true });
    // tandem.js and its code-split chunks (loaded on demand by the commands that need them).
    let js = '';
    for (const name of (await fsp.readdir(join(repoRoot, 'dist'))).filter((n) => n.endsWith('.js')).sort()) {
      const text = await fsp.readFile(join(repoRoot, 'dist', name), 'utf8');
      await fsp.writeFile(join(payload, name), text, { mode: name === 'tandem.js' ? 0o755 : 0o644 });
      js += text;
    }
    if (o.otaHelper !== false) await buildOtaHelper(repoRoot, join(payload, 'tandem-ota.js'));

    const wanted = o.modules ?? [
      ...new Set([
        ...RUNTIME_MODULES,
        ...importedPackages(js).filter((n) => existsSync(join(repoRoot, 'node_modules', n))),
      ]),
    ];
    const { dirs, missing } = collectModules(wanted, repoRoot);
    if (missing.length) throw new Error(`runtime modules missing from node_modules: ${missing.join(', ')}`);
    for (const d of dirs) await copyPackage(d, join(payload, relative(repoRoot, d)));
    if (wanted.includes('koffi') && !existsSync(join(payload, 'node_modules', '@koromix', `koffi-${os}-${arch}`))) {
      throw new Error(
        `koffi has no prebuilt binary for ${os}/${arch} in node_modules: build the bundle on a ${os}/${arch} machine`,
      );
    }
    for (const extra of ['board-configs', 'packaging']) {
      if (existsSync(join(repoRoot, extra))) await copyTree(join(repoRoot, extra), join(payload, extra));
    }

    const files: ManifestFile[] = [];
    const natives: Manifest['natives'] = [];
    for (const rel of await listFiles(payload)) {
      const abs = join(payload, rel);
      const { sha256, size } = await hashFile(abs);
      files.push({ path: rel, sha256, size, mode: (await fsp.stat(abs)).mode & 0o777 });
      if (rel.endsWith('.node')) {
        const fh = await fsp.open(abs, 'r');
        const head = Buffer.alloc(20);
        try {
          await fh.read(head, 0, 20, 0);
        } finally {
          await fh.close();
        }
        const machine = elfMachine(head) ?? 'not-elf';
        natives.push({ path: rel, machine });
        // Native addons are built on the build host: they decide what the bundle can target.
        if (machine !== arch)
          throw new Error(
            `${rel} is built for ${machine}, the bundle targets ${arch}: build it on a ${os}/${arch} machine`,
          );
        if (os !== process.platform)
          throw new Error(
            `${rel} was built on ${process.platform}, the bundle targets ${os}: build it on a ${os}/${arch} machine`,
          );
      }
    }
    const manifest: Manifest = {
      schema: MANIFEST_SCHEMA,
      name: String(pkg.name),
      version: String(pkg.version),
      target: { os, arch },
      node: { abi: process.versions.modules, version: process.versions.node },
      rollbackIndex: o.rollbackIndex,
      buildTime: (o.buildTime ?? new Date()).toISOString(),
      files,
      natives,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
    await fsp.writeFile(join(stage, MANIFEST_NAME), manifestBytes);
    await fsp.writeFile(join(stage, SIGNATURE_NAME), `${JSON.stringify(signManifest(manifestBytes, o.privateKey))}\n`);

    const outDir = o.outDir ?? join(repoRoot, 'dist');
    await fsp.mkdir(outDir, { recursive: true });
    const file = join(outDir, `tandem-${manifest.version}-${os}-${arch}.tfw`);
    const entries = [MANIFEST_NAME, SIGNATURE_NAME, ...files.map((f) => `${PAYLOAD_DIR}/${f.path}`)];
    await tar.c(
      { gzip: true, file, cwd: stage, portable: true, mtime: o.buildTime ?? new Date(manifest.buildTime) },
      entries,
    );
    return { file, manifest, keyId: keyId(createPublicKey(o.privateKey)), bytes: (await fsp.stat(file)).size };
  } finally {
    await fsp.rm(stage, { recursive: true, force: true });
  }
}
