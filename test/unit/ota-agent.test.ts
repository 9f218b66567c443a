// The agent end to end on real bundles of this tree (small: only `yaml` as runtime module),
// in temp roots, with a local HTTP server on 127.0.0.1 for downloads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createReadStream,
  existsSync,
  promises as fsp,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { OtaAgent, verifySlot, type ApplyProgress } from '../../ota/agent.ts';
import { main as otaCli } from '../../ota/cli.ts';
import { makeBundle, makeKey, rewriteBundle, tempDir } from '../kit/ota.ts';

const key = makeKey();
const otherKey = makeKey();
const dir = tempDir('agent');
let v1 = '',
  v2 = '',
  v3low = '',
  netbsd = '';

const logs: string[] = [];
const log = {
  info: (_o: object, m: string) => logs.push(`info ${m}`),
  warn: (_o: object, m: string) => logs.push(`warn ${m}`),
  error: (_o: object, m: string) => logs.push(`error ${m}`),
};
const agent = (root: string, extra: Partial<ConstructorParameters<typeof OtaAgent>[0]> = {}) =>
  new OtaAgent({ root, trustedKeys: [key.pubPem], log, ...extra });

test.before(async () => {
  v1 = (await makeBundle(key, { rollbackIndex: 5, outDir: join(dir, 'v1'), otaHelper: true })).file;
  v2 = (await makeBundle(key, { rollbackIndex: 6, outDir: join(dir, 'v2') })).file;
  v3low = (await makeBundle(key, { rollbackIndex: 3, outDir: join(dir, 'v3') })).file;
  netbsd = (await makeBundle(key, { rollbackIndex: 5, os: 'netbsd', outDir: join(dir, 'nb') })).file;
});
test.after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function installed(tag: string): Promise<string> {
  const root = tempDir(tag);
  const r = await agent(root).apply(v1);
  assert.ok(r.ok, JSON.stringify(r));
  return root;
}

test('a first install lands in slot a, confirmed, with its files verified and progress reaching 100 last', async () => {
  const root = tempDir('first');
  const seen: ApplyProgress[] = [];
  const r = await agent(root).apply(v1, (p) => seen.push(p));
  assert.ok(r.ok && r.slot === 'a' && r.pending === false, JSON.stringify(r));
  assert.is(readlinkSync(join(root, 'current')), 'slots/a');
  assert.ok((await verifySlot(join(root, 'slots', 'a'))).ok);
  const pcts = seen.map((p) => p.percent);
  for (let i = 1; i < pcts.length; i++) assert.ok(pcts[i] >= pcts[i - 1], `progress went back: ${pcts}`);
  assert.is(pcts[pcts.length - 1], 100);
  assert.is(pcts.filter((p) => p === 100).length, 1);
  assert.is(seen[seen.length - 1].step, 'done');
  assert.ok(
    seen.some((p) => p.step === 'verify') &&
      seen.some((p) => p.step === 'write') &&
      seen.some((p) => p.step === 'switch'),
  );
  const st = agent(root).status();
  assert.equal(
    [st.active, st.pending, st.rollbackIndex, st.slots.a?.version],
    ['a', false, 5, JSON.parse(readFileSync('package.json', 'utf8')).version],
  );
});

test('an update goes to slot b on trial; markHealthy confirms it and raises the rollback floor', async () => {
  const root = await installed('trial');
  const a = agent(root);
  const r = await a.apply(v2);
  assert.ok(r.ok && r.slot === 'b' && r.pending, JSON.stringify(r));
  assert.is(readFileSync(join(root, 'trial'), 'utf8').trim(), 'a');
  assert.is(a.bootCheck('boot-1').decision, 'trial');
  assert.equal(a.markHealthy(), {
    ok: true,
    slot: 'b',
    version: r.ok ? r.version : '',
    detail: 'confirmed by health',
    restartRequired: false,
  });
  const st = a.status();
  assert.equal([st.active, st.previous, st.pending, st.rollbackIndex], ['b', 'a', false, 6]);
  assert.not.ok(existsSync(join(root, 'trial')));
  assert.is(a.bootCheck('boot-2').decision, 'confirmed');
});

test('a trial that never confirms is rolled back by bootCheck after maxTrialBoots, keeping its log tail', async () => {
  const root = await installed('rollback');
  const r = await agent(root).apply(v2);
  assert.ok(r.ok);
  writeFileSync(
    join(root, 'slots', 'b', 'trial.log'),
    'line one\ntandem: fatal: config has no instances\n--- exit 1\n',
  );
  const decisions: string[] = [];
  for (let i = 1; i <= 3; i++) decisions.push(agent(root, { maxTrialBoots: 2 }).bootCheck(`boot-${i}`).decision);
  assert.equal(decisions, ['trial', 'trial', 'rolled-back']);
  assert.is(readlinkSync(join(root, 'current')), 'slots/a');
  const st = agent(root).status();
  assert.equal([st.active, st.previous, st.pending, st.rollbackIndex], ['a', 'b', false, 5]);
  assert.equal(st.lastRollback?.diagnostics.slice(-2), ['tandem: fatal: config has no instances', '--- exit 1']);
  assert.is(st.lastRollback?.reported, false);
  assert.ok(existsSync(join(root, 'slots', 'b', 'rolled-back.json')));
  assert.not.ok(existsSync(join(root, 'trial')));
  assert.ok((await verifySlot(join(root, 'slots', 'a'))).ok);
  agent(root).rollbackReported();
  assert.is(agent(root).status().lastRollback?.reported, true);
});

test('apply refuses while a trial is pending; operator rollback verifies and switches back', async () => {
  const root = await installed('manual');
  const a = agent(root);
  assert.ok((await a.apply(v2)).ok);
  const again = await a.apply(v2);
  assert.equal(again.ok ? 'ok' : again.reason, 'trial-pending');
  const rb = await a.rollback();
  assert.ok(rb.ok && rb.slot === 'a' && rb.restartRequired, JSON.stringify(rb));
  assert.is(readlinkSync(join(root, 'current')), 'slots/a');
  assert.equal(a.confirm(), {
    ok: true,
    slot: 'a',
    version: a.status().slots.a?.version ?? null,
    detail: 'already confirmed',
    restartRequired: false,
  });
});

test('a flipped byte in a payload file is digest-mismatch naming the file; nothing reaches a slot', async () => {
  const root = await installed('tamper');
  const bad = join(dir, 'tampered-payload.tfw');
  await rewriteBundle(v2, bad, async (d) => {
    const f = join(d, 'payload', 'tandem.js');
    const b = readFileSync(f);
    b[b.length - 2] ^= 0x20;
    writeFileSync(f, b);
  });
  const r = await agent(root).apply(bad);
  assert.is(r.ok ? 'ok' : r.reason, 'digest-mismatch');
  assert.ok(!r.ok && r.detail.startsWith('tandem.js: sha256 '), r.ok ? '' : r.detail);
  assert.not.ok(existsSync(join(root, 'slots', 'b')));
  assert.not.ok(existsSync(join(root, 'staging')));
  assert.is(readlinkSync(join(root, 'current')), 'slots/a');
  assert.equal(agent(root).status().lastResult?.reason, 'digest-mismatch');
});

test('a flipped byte in the manifest is bad-signature', async () => {
  const root = await installed('tamper-m');
  const bad = join(dir, 'tampered-manifest.tfw');
  await rewriteBundle(v2, bad, async (d) => {
    const f = join(d, 'manifest.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"rollbackIndex": 6', '"rollbackIndex": 7'));
  });
  const r = await agent(root).apply(bad);
  assert.is(r.ok ? 'ok' : r.reason, 'bad-signature');
});

test('an extra file smuggled into the payload is unexpected-file', async () => {
  const root = await installed('extra');
  const bad = join(dir, 'extra.tfw');
  // the same entries as a good bundle, plus one the manifest does not name
  const tar = await import('tar');
  const d2 = tempDir('extra2');
  await tar.x({ file: v2, cwd: d2 });
  writeFileSync(join(d2, 'payload', 'evil.js'), 'process.exit(1)');
  const names: string[] = [];
  await tar.t({
    file: v2,
    onReadEntry: (e) => {
      names.push(e.path);
    },
  });
  await tar.c({ gzip: true, file: bad, cwd: d2, portable: true }, [...names, 'payload/evil.js']);
  const r = await agent(root).apply(bad);
  assert.equal(r.ok ? 'ok' : [r.reason, r.detail], [
    'unexpected-file',
    'payload/evil.js (File) is not in the signed manifest',
  ]);
});

test('a bundle signed by an untrusted key is untrusted-signature', async () => {
  const root = await installed('wrongkey');
  const r = await new OtaAgent({ root, trustedKeys: [otherKey.pubPem] }).apply(v2);
  assert.is(r.ok ? 'ok' : r.reason, 'untrusted-signature');
});

test('a trusted key can be a path to a PEM file', async () => {
  const root = tempDir('keypath');
  const pem = join(root, 'k.pub');
  writeFileSync(pem, key.pubPem);
  assert.ok((await new OtaAgent({ root, trustedKeys: [pem] }).apply(v1)).ok);
});

test('a bundle for another target is wrong-target with both named', async () => {
  const root = await installed('target');
  const r = await agent(root, { target: { os: 'linux', arch: 'x64' } }).apply(netbsd);
  assert.equal(r.ok ? 'ok' : [r.reason, r.detail], ['wrong-target', 'built for netbsd/x64, this is linux/x64']);
});

test('a bundle for another Node ABI is abi-mismatch', async () => {
  const root = tempDir('abi');
  const r = await agent(root, { nodeAbi: '108' }).apply(v1);
  assert.is(r.ok ? 'ok' : r.reason, 'abi-mismatch');
});

test('a lower rollback index is refused as a downgrade, and accepted (logged) with the override', async () => {
  const root = await installed('downgrade');
  const r = await agent(root).apply(v3low);
  assert.equal(r.ok ? 'ok' : [r.reason, r.detail], ['downgrade', 'index 3 < installed 5']);
  logs.length = 0;
  const o = await agent(root, { allowDowngrade: true }).apply(v3low);
  assert.ok(o.ok && o.downgrade, JSON.stringify(o));
  assert.ok(logs.includes('warn downgrade allowed by override'), logs.join('\n'));
});

test('the CLI reports status as JSON and refuses an untrusted bundle with exit code 1', async () => {
  const root = await installed('cli');
  const pub = join(root, 'k.pub');
  writeFileSync(pub, otherKey.pubPem);
  const write = process.stdout.write.bind(process.stdout);
  const ewrite = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.is(await otaCli(['status', '--json', '--root', root]), 0);
    assert.is(JSON.parse(out).active, 'a');
    assert.is(await otaCli(['apply', v2, '--root', root, '--trusted-key', pub, '--quiet']), 1);
    assert.is(await otaCli(['frobnicate', '--root', root]), 2);
  } finally {
    process.stdout.write = write;
    process.stderr.write = ewrite;
  }
});

// ------------------------------------------------------------------ downloads

interface Server {
  url: string;
  ranges: (string | undefined)[];
  close: () => Promise<void>;
}

/** Serves one file; with dropAt, the first full request is cut after that many bytes. */
async function serve(file: string, dropAt?: number): Promise<Server> {
  const size = statSync(file).size;
  const ranges: (string | undefined)[] = [];
  let dropped = false;
  const srv = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const headers: Record<string, string | number> = {
      'content-length': size - start,
      etag: '"v2"',
      'accept-ranges': 'bytes',
    };
    if (m) headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    res.writeHead(m ? 206 : 200, headers);
    if (dropAt !== undefined && !dropped && start === 0) {
      dropped = true;
      const s = createReadStream(file, { start: 0, end: dropAt - 1 });
      s.on('data', (c) => res.write(c));
      // Cut the connection only once every byte written has left Node for the kernel, so the
      // client has exactly `dropAt` bytes whatever the machine's load (a fixed 20 ms was not).
      const cut = () => {
        if ((res.socket?.writableLength ?? 0) > 0) setTimeout(cut, 5);
        else setTimeout(() => res.socket?.destroy(), 20);
      };
      s.on('end', cut);
      return;
    }
    createReadStream(file, { start }).pipe(res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/tandem.tfw`,
    ranges,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

test('a download cut half way resumes with Range from the saved offset in a new agent', async () => {
  const root = await installed('resume');
  const half = Math.floor(statSync(v2).size / 2);
  const s = await serve(v2, half);
  try {
    const r1 = await agent(root, { netIdleTimeoutMs: 5000 }).apply(s.url);
    assert.is(r1.ok ? 'ok' : r1.reason, 'network');
    const st = agent(root).status();
    assert.is(st.download?.offset, half);
    assert.is(st.download?.url, s.url);
    const r2 = await agent(root, { netIdleTimeoutMs: 5000 }).apply(s.url);
    assert.ok(r2.ok && r2.slot === 'b', JSON.stringify(r2));
    assert.equal(s.ranges, [undefined, `bytes=${half}-`]);
    // the sha256 streamed across the two transfers is the file's
    const { createHash } = await import('node:crypto');
    assert.is(r2.ok && r2.bundleSha256, createHash('sha256').update(readFileSync(v2)).digest('hex'));
    assert.not.ok(existsSync(join(root, 'download', 'bundle.part')));
  } finally {
    await s.close();
  }
});

test('a server that stops sending hits the idle timeout instead of hanging', async () => {
  const root = tempDir('idle');
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': 1000 });
    res.write('x');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const t0 = Date.now();
    const r = await agent(root, { netIdleTimeoutMs: 300 }).apply(
      `http://127.0.0.1:${(srv.address() as AddressInfo).port}/x.tfw`,
    );
    assert.is(r.ok ? 'ok' : r.reason, 'timeout');
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});

test('an HTTP error and a wrong expected sha256 are reported, not thrown', async () => {
  const root = tempDir('http');
  const srv = http.createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const r = await agent(root).apply(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/missing.tfw`);
    assert.ok(!r.ok && r.reason === 'http-error' && r.detail.includes('HTTP 404'), JSON.stringify(r));
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
  const r2 = await agent(root).apply(v1, undefined, { sha256: '0'.repeat(64) });
  assert.is(r2.ok ? 'ok' : r2.reason, 'digest-mismatch');
  const r3 = await agent(root).apply(join(root, 'nope.tfw'));
  assert.is(r3.ok ? 'ok' : r3.reason, 'not-found');
});

test.run();
