// The launcher (packaging/tandem-launch) with real slots: an update whose tandem.js exits non-zero
// at every start is rolled back on the start after its trial boots, by the previous slot's
// standalone OTA helper, with the failed run's output kept as diagnostics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OtaAgent } from '../../ota/agent.ts';
import { makeBundle, makeKey, REPO, tempDir } from '../kit/ota.ts';

const LAUNCH = join(REPO, 'packaging', 'tandem-launch');

test('three failing starts of a trial: two counted, the third rolls back to the previous slot', async () => {
  const key = makeKey();
  const dir = tempDir('launch');
  const v1 = (await makeBundle(key, { rollbackIndex: 1, outDir: join(dir, 'v1'), otaHelper: true })).file;
  const v2 = (await makeBundle(key, { rollbackIndex: 2, outDir: join(dir, 'v2'), otaHelper: true })).file;
  const root = tempDir('launch-root');
  const agent = () => new OtaAgent({ root, trustedKeys: [key.pubPem] });
  assert.ok((await agent().apply(v1)).ok);
  assert.ok((await agent().apply(v2)).ok);
  assert.is(readlinkSync(join(root, 'current')), 'slots/b');

  // The slots carry no `node` here (no image), so the launcher takes TANDEM_NODE. A config that
  // does not exist makes `tandem run` fail fast whatever the daemon does with a good one.
  const start = () =>
    spawnSync('sh', [LAUNCH, '--config', join(root, 'no-such-config.yaml')], {
      env: { ...process.env, TANDEM_OTA_ROOT: root, TANDEM_NODE: process.execPath },
      encoding: 'utf8',
      timeout: 30_000,
    });
  const runs = [start(), start()];
  for (const r of runs) assert.not.equal(r.status, 0, 'a start with no config must fail');
  let st = agent().status();
  assert.equal([st.active, st.pending, st.bootCount], ['b', true, 2]);
  const log = readFileSync(join(root, 'slots', 'b', 'trial.log'), 'utf8');
  assert.is(log.match(/^--- start /gm)?.length, 2);
  assert.is(log.match(/^--- exit \d+ /gm)?.length, 2);

  const third = start();
  assert.match(third.stderr, /"decision":"rolled-back"/);
  assert.is(readlinkSync(join(root, 'current')), 'slots/a');
  assert.not.ok(existsSync(join(root, 'trial')));
  st = agent().status();
  assert.equal([st.active, st.previous, st.pending], ['a', 'b', false]);
  assert.ok(
    st.lastRollback?.diagnostics.some((l) => /^--- exit \d+ /.test(l)),
    JSON.stringify(st.lastRollback),
  );
  // not on trial any more: the third start ran slot a without a trial log
  assert.not.ok(existsSync(join(root, 'slots', 'a', 'trial.log')));
});

test.run();
