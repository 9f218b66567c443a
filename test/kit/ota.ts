// Helpers for the OTA tests: throw-away keys and small real bundles built from this tree.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tar from 'tar';
import { buildBundle, type BundleResult } from '../../ota/bundle.ts';
import type { TargetArch, TargetOs } from '../../ota/manifest.ts';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);

export interface TestKey {
  priv: KeyObject;
  pubPem: string;
  privPem: string;
}

export function makeKey(): TestKey {
  const k = generateKeyPairSync('ed25519');
  return {
    priv: k.privateKey,
    pubPem: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privPem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `tandem-${tag}-`));
}

/** A real bundle of this tree, kept small (only `yaml` as runtime module) unless modules are given. */
export async function makeBundle(
  key: TestKey,
  o: {
    rollbackIndex?: number;
    os?: TargetOs;
    arch?: TargetArch;
    outDir?: string;
    modules?: string[];
    otaHelper?: boolean;
  } = {},
): Promise<BundleResult> {
  return buildBundle({
    repoRoot: REPO,
    privateKey: key.priv,
    rollbackIndex: o.rollbackIndex ?? 1,
    os: o.os,
    arch: o.arch,
    outDir: o.outDir ?? tempDir('bundle'),
    modules: o.modules ?? ['yaml'],
    otaHelper: o.otaHelper ?? false,
  });
}

/** Unpack a bundle, let `edit` change files, pack it again in the same entry order. */
export async function rewriteBundle(file: string, out: string, edit: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('rewrite');
  const names: string[] = [];
  await tar.x({
    file,
    cwd: dir,
    onReadEntry: (e) => {
      if (e.type === 'File') names.push(e.path);
    },
  });
  await edit(dir);
  await tar.c({ gzip: true, file: out, cwd: dir, portable: true }, names);
  await fsp.rm(dir, { recursive: true, force: true });
}
