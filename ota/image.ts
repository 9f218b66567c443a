// The appliance image: a root-filesystem overlay tarball to unpack at / on a fresh machine.
//   <ota root>/slots/a/          the verified bundle payload + manifest + the target's `node`
//   <ota root>/current -> slots/a, <ota root>/ota-state.json (slot a confirmed: the factory install)
//   /etc/tandem/tandem.yaml       site file: `board:` + the board's defaults
//   /etc/tandem/board.yaml        the board file itself
//   /etc/tandem/<trusted key>     the public key(s) OTA bundles must be signed with
//   /usr/local/libexec/tandem-launch
//   /etc/systemd/system/tandem.service (+ enabled), /usr/lib/sysusers.d/tandem.conf (its user)   or   /etc/rc.d/tandem + /etc/rc.conf.d/tandem
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { stringify as yamlStringify } from 'yaml';
import { extractVerified, readHead, verifySlot } from './agent.ts';
import { loadBoard, type Board } from './board.ts';
import { hashFile } from './fsutil.ts';
import {
  checkSignature,
  loadPublicKey,
  MANIFEST_NAME,
  NODE_ABI_BY_MAJOR,
  parseManifest,
  SIGNATURE_NAME,
} from './manifest.ts';
import { emptyState } from './state.ts';

export interface ImageOptions {
  repoRoot: string;
  boardFile: string;
  /** Default: dist/tandem-<version>-<os>-<arch>.tfw for the board's target. */
  bundle?: string;
  /** Default: dist/image-<board>-<version>.tar.gz */
  out?: string;
  /** Public keys (PEM paths or text) the image trusts; the bundle must verify against one. */
  trustedKeys: string[];
  /** Where `npm pack` tarballs of Node.js runtimes are kept between builds. */
  cacheDir?: string;
  log?: (msg: string) => void;
}

export interface ImageResult {
  file: string;
  board: string;
  version: string;
  runtime: string;
  notes: string[];
}

export function defaultCacheDir(): string {
  return process.env.TANDEM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tandem');
}

/** `npm pack PKG@VERSION` into the cache (once) and return the tarball path. */
export function fetchNodeRuntime(pkg: string, version: string, cacheDir: string, log: (m: string) => void): string {
  const dir = join(cacheDir, 'npm');
  const tgz = join(dir, `${pkg}-${version}.tgz`);
  if (existsSync(tgz)) return tgz;
  execFileSync('mkdir', ['-p', dir]);
  log(`npm pack ${pkg}@${version} (cached in ${dir})`);
  execFileSync('npm', ['pack', `${pkg}@${version}`, '--silent'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
  });
  if (!existsSync(tgz)) throw new Error(`npm pack ${pkg}@${version} did not produce ${tgz}`);
  return tgz;
}

export async function buildImage(o: ImageOptions): Promise<ImageResult> {
  const log = o.log ?? (() => {});
  const notes: string[] = [];
  const b = loadBoard(o.boardFile);
  if (!b.ok) throw new Error(`board file is invalid:\n  ${b.errors.join('\n  ')}`);
  const board: Board = b.board;
  const pkg = JSON.parse(readFileSync(join(o.repoRoot, 'package.json'), 'utf8'));
  const bundle = o.bundle ?? join(o.repoRoot, 'dist', `tandem-${pkg.version}-${board.os}-${board.arch}.tfw`);
  if (!existsSync(bundle))
    throw new Error(`${bundle} is missing: run ./build.sh bundle --os ${board.os} --arch ${board.arch} first`);

  // The image holds only what an OTA agent would accept: same checks, same keys.
  const keys = o.trustedKeys.map(loadPublicKey);
  if (keys.length === 0)
    throw new Error('no trusted keys: give --trusted-key (the public half of the bundle signing key)');
  const head = await readHead(bundle);
  if (!head.ok) throw new Error(`${bundle}: ${head.reason}: ${head.detail}`);
  const sig = checkSignature(head.manifestBytes, head.sigBytes, keys);
  if (!sig.ok) throw new Error(`${bundle}: ${sig.reason}: ${sig.detail}`);
  const parsed = parseManifest(head.manifestBytes);
  if (!parsed.ok) throw new Error(`${bundle}: ${parsed.detail}`);
  const m = parsed.manifest;
  if (m.target.os !== board.os || m.target.arch !== board.arch) {
    throw new Error(
      `wrong-target: bundle built for ${m.target.os}/${m.target.arch}, board ${board.board} is ${board.os}/${board.arch}`,
    );
  }

  const stage = await fsp.mkdtemp(join(tmpdir(), 'tandem-image-'));
  try {
    const otaRoot = join(stage, board.ota.root);
    const slot = join(otaRoot, 'slots', 'a');
    await fsp.mkdir(slot, { recursive: true });
    const ex = await extractVerified(bundle, slot, m, () => {});
    if (!ex.ok) throw new Error(`${bundle}: ${ex.reason}: ${ex.detail}`);
    await fsp.writeFile(join(slot, MANIFEST_NAME), head.manifestBytes);
    await fsp.writeFile(join(slot, SIGNATURE_NAME), head.sigBytes);
    const back = await verifySlot(slot);
    if (!back.ok) throw new Error(`slot a after unpacking: ${back.detail}`);

    // The Node.js runtime for the target.
    let runtime: string;
    if (board.node_runtime.package === 'system') {
      runtime = `system node at ${board.node_runtime.path} (not in the image)`;
      notes.push(
        `${board.os}/${board.arch}: npm has no Node.js build for this target; the image expects ${board.node_runtime.path} (e.g. pkgsrc nodejs${m.node.version.split('.')[0]}) with ABI ${m.node.abi}`,
      );
    } else {
      const { package: npmPkg, version } = board.node_runtime as { package: string; version: string };
      const major = Number(version.split('.')[0]);
      if (NODE_ABI_BY_MAJOR[major] !== m.node.abi) {
        throw new Error(
          `abi-mismatch: ${npmPkg}@${version} has ABI ${NODE_ABI_BY_MAJOR[major] ?? 'unknown'}, the bundle needs ${m.node.abi} (Node ${m.node.version})`,
        );
      }
      const tgz = fetchNodeRuntime(npmPkg, version, o.cacheDir ?? defaultCacheDir(), log);
      const unpack = join(stage, '.node-unpack');
      await fsp.mkdir(unpack);
      await tar.x({ file: tgz, cwd: unpack, filter: (p) => p === 'package/bin/node' || p === 'package/LICENSE' });
      if (!existsSync(join(unpack, 'package/bin/node'))) throw new Error(`${tgz} has no package/bin/node`);
      await fsp.copyFile(join(unpack, 'package/bin/node'), join(slot, 'node'));
      await fsp.chmod(join(slot, 'node'), 0o755);
      await fsp.copyFile(join(unpack, 'package/LICENSE'), join(slot, 'node.LICENSE')).catch(() => {});
      await fsp.rm(unpack, { recursive: true, force: true });
      runtime = `${npmPkg}@${version}`;
    }
    const bundleSha256 = (await hashFile(bundle)).sha256;
    const info = {
      version: m.version,
      rollbackIndex: m.rollbackIndex,
      bundleSha256,
      installedAt: m.buildTime,
      target: m.target,
    };
    await fsp.writeFile(join(slot, 'slot.json'), `${JSON.stringify({ ...info, runtime }, null, 1)}\n`);
    await fsp.symlink('slots/a', join(otaRoot, 'current'));
    const state = emptyState();
    state.active = 'a';
    state.slots.a = info;
    state.rollbackIndex = m.rollbackIndex;
    state.lastResult = {
      op: 'image',
      ok: true,
      at: m.buildTime,
      version: m.version,
      detail: `factory image for ${board.board}, runtime ${runtime}`,
    };
    await fsp.writeFile(join(otaRoot, 'ota-state.json'), `${JSON.stringify(state, null, 1)}\n`);

    // /etc/tandem: board file, site file from the board's defaults, trusted keys.
    const etc = join(stage, 'etc', 'tandem');
    await fsp.mkdir(etc, { recursive: true });
    await fsp.copyFile(o.boardFile, join(etc, 'board.yaml'));
    const site =
      `# tandem site configuration written by the image builder for board ${board.board}.\n` +
      `# The board file supplies interface aliases and defaults; add instances: here.\n` +
      yamlStringify({ board: '/etc/tandem/board.yaml', ...board.defaults });
    await fsp.writeFile(join(etc, 'tandem.yaml'), site);
    for (let i = 0; i < board.ota.trusted_keys.length && i < keys.length; i++) {
      const dst = join(stage, board.ota.trusted_keys[i]);
      await fsp.mkdir(dirname(dst), { recursive: true });
      await fsp.writeFile(dst, keys[i].export({ type: 'spki', format: 'pem' }));
    }
    if (keys.length < board.ota.trusted_keys.length)
      notes.push(`only ${keys.length} of ${board.ota.trusted_keys.length} trusted key paths were filled`);

    // Launcher (outside the slots on purpose) and the service.
    const libexec = join(stage, 'usr', 'local', 'libexec');
    await fsp.mkdir(libexec, { recursive: true });
    await fsp.copyFile(join(slot, 'packaging', 'tandem-launch'), join(libexec, 'tandem-launch'));
    await fsp.chmod(join(libexec, 'tandem-launch'), 0o755);
    if (board.service === 'systemd') {
      const sd = join(stage, 'etc', 'systemd', 'system');
      await fsp.mkdir(join(sd, 'multi-user.target.wants'), { recursive: true });
      await fsp.copyFile(join(slot, 'packaging', 'tandem.service'), join(sd, 'tandem.service'));
      await fsp.symlink('/etc/systemd/system/tandem.service', join(sd, 'multi-user.target.wants', 'tandem.service'));
      // The unit runs tandem as the user `tandem`; systemd-sysusers creates it at boot.
      const sysusers = join(stage, 'usr', 'lib', 'sysusers.d');
      await fsp.mkdir(sysusers, { recursive: true });
      await fsp.copyFile(join(slot, 'packaging', 'tandem.sysusers'), join(sysusers, 'tandem.conf'));
    } else {
      await fsp.mkdir(join(stage, 'etc', 'rc.d'), { recursive: true });
      await fsp.mkdir(join(stage, 'etc', 'rc.conf.d'), { recursive: true });
      await fsp.copyFile(join(slot, 'packaging', 'rc.d', 'tandem'), join(stage, 'etc', 'rc.d', 'tandem'));
      await fsp.chmod(join(stage, 'etc', 'rc.d', 'tandem'), 0o755);
      await fsp.writeFile(join(stage, 'etc', 'rc.conf.d', 'tandem'), 'tandem=YES\n');
    }

    const out = o.out ?? join(o.repoRoot, 'dist', `image-${board.board}-${m.version}.tar.gz`);
    await fsp.mkdir(dirname(out), { recursive: true });
    const top = (await fsp.readdir(stage)).filter((n) => !n.startsWith('.')).sort();
    await tar.c({ gzip: true, file: out, cwd: stage, portable: true }, top);
    return { file: out, board: board.board, version: m.version, runtime, notes };
  } finally {
    await fsp.rm(stage, { recursive: true, force: true });
  }
}
