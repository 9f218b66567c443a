// The appliance image for this machine's architecture: a full bundle (all runtime modules and
// native addons), `npm pack node-linux-<arch>` (needs the npm registry; cached in
// ~/.cache/tandem, or $TANDEM_CACHE_DIR), unpacked into a temp dir, and run from there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { verifySlot, OtaAgent } from '../../ota/agent.ts';
import { buildImage } from '../../ota/image.ts';
import { makeBundle, makeKey, REPO, tempDir } from '../kit/ota.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const BOARD = process.arch === 'arm64' ? 'arm64-linux' : 'generic-x86_64-linux';

test(`an image for ${BOARD} unpacks into a root whose own runtime starts tandem`, async () => {
  const key = makeKey();
  const dir = tempDir('image');
  try {
    const keyFile = join(dir, 'ota.pub');
    await fsp.writeFile(keyFile, key.pubPem);
    const b = await makeBundle(key, {
      rollbackIndex: 100,
      outDir: dir,
      modules: ['koffi', 'pcap', 'mqtt', 'yaml', 'pino'],
      otaHelper: true,
    });
    assert.ok(b.manifest.natives.length >= 2, JSON.stringify(b.manifest.natives)); // pcap + koffi addons
    const img = await buildImage({
      repoRoot: REPO,
      boardFile: join(REPO, 'board-configs', `${BOARD}.yaml`),
      bundle: b.file,
      out: join(dir, 'image.tar.gz'),
      trustedKeys: [keyFile],
    });
    assert.is(img.version, pkg.version);
    const rootfs = join(dir, 'rootfs');
    await fsp.mkdir(rootfs);
    await tar.x({ file: img.file, cwd: rootfs });

    const ota = join(rootfs, 'var', 'lib', 'tandem');
    const cur = join(ota, 'current');
    assert.is(readlinkSync(cur), 'slots/a');
    assert.ok(statSync(join(cur, 'node')).mode & 0o100, 'node is executable');
    const out = execFileSync(join(cur, 'node'), [join(cur, 'tandem.js'), '--version'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.is(out.trim(), `tandem ${pkg.version}`);
    // the runtime modules, native ones included, load from the slot with the slot's own node
    const load = spawnSync(
      join(cur, 'node'),
      [
        '--input-type=module',
        '-e',
        "for (const m of ['koffi','pcap','mqtt','yaml','pino']) await import(m); console.log('all loaded')",
      ],
      { cwd: cur, encoding: 'utf8', timeout: 30_000 },
    );
    assert.is(load.stdout.trim(), 'all loaded', load.stderr);
    assert.is(
      execFileSync(join(cur, 'node'), ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim(),
      b.manifest.node.abi,
    );

    assert.ok((await verifySlot(join(ota, 'slots', 'a'))).ok);
    const st = new OtaAgent({ root: ota, trustedKeys: [keyFile] }).status();
    assert.equal([st.active, st.pending, st.rollbackIndex], ['a', false, 100]);
    // the helper in the slot reads the same state with the slot's node
    const helper = JSON.parse(
      execFileSync(join(cur, 'node'), [join(cur, 'tandem-ota.js'), 'status', '--json', '--root', ota], {
        encoding: 'utf8',
      }),
    );
    assert.is(helper.slots.a.version, pkg.version);

    for (const f of [
      'etc/tandem/tandem.yaml',
      'etc/tandem/board.yaml',
      'etc/tandem/ota-key.pub',
      'usr/local/libexec/tandem-launch',
      'etc/systemd/system/tandem.service',
      'usr/lib/sysusers.d/tandem.conf',
    ]) {
      assert.ok(existsSync(join(rootfs, f)), f);
    }
    assert.is(readFileSync(join(rootfs, 'etc/tandem/ota-key.pub'), 'utf8'), key.pubPem);
    assert.match(readFileSync(join(rootfs, 'etc/tandem/tandem.yaml'), 'utf8'), /^board: \/etc\/tandem\/board\.yaml$/m);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('a NetBSD image is refused here: its bundle would carry Linux-built native addons', async () => {
  const key = makeKey();
  const dir = tempDir('image-nb');
  try {
    let err = '';
    try {
      await makeBundle(key, { os: 'netbsd', outDir: dir, modules: ['pcap'] });
    } catch (e) {
      err = (e as Error).message;
    }
    assert.match(err, /pcap_binding\.node was built on linux, the bundle targets netbsd/);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test.run();
