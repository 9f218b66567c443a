// OTA against a hostile source or requester (issue #12): what an MQTT `ota` command may name, size
// caps on downloads (with and without Content-Length), the partial file cleared after a failed
// verification, payload files stopped at their manifest size, one apply at a time per process, and
// devices refused as local sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CommandError } from '../../firmware/core/errors.ts';
import { checkRemoteSource, redactPaths, withDeadline } from '../../firmware/supervisor/ota-source.ts';
import { OtaAgent } from '../../ota/agent.ts';
import { makeBundle, makeKey, rewriteBundle, tempDir } from '../kit/ota.ts';

const key = makeKey();
const dir = tempDir('harden');
let v1 = '';
const agent = (root: string, extra: Partial<ConstructorParameters<typeof OtaAgent>[0]> = {}) =>
  new OtaAgent({ root, trustedKeys: [key.pubPem], ...extra });

test.before(async () => {
  v1 = (await makeBundle(key, { rollbackIndex: 5, outDir: join(dir, 'v1') })).file;
});
test.after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof CommandError ? `${e.code}: ${e.message}` : String(e);
  }
};

test('an ota command names only an https:// URL (http:// when allowed), from a listed host when a list is set', () => {
  const strict = { allowHttp: false };
  assert.is(checkRemoteSource('https://updates.example/t.tfw', strict), 'https://updates.example/t.tfw');
  for (const bad of ['/dev/zero', 'file:///etc/shadow', 'http://updates.example/t.tfw', 'ftp://x/y', '../../x'])
    assert.match(
      code(() => checkRemoteSource(bad, strict)),
      /^bad-source: /,
      bad,
    );
  assert.not.match(
    code(() => checkRemoteSource('/etc/shadow', strict)),
    /shadow/,
    'the path is not echoed',
  );
  assert.match(
    code(() => checkRemoteSource(true, strict)),
    /^bad-argument/,
  );
  assert.is(
    code(() => checkRemoteSource('http://updates.example/t', { allowHttp: true })),
    'ok',
  );
  const hosts = { allowHttp: false, hosts: ['updates.example', '2001:db8::1'] };
  assert.is(
    code(() => checkRemoteSource('https://UPDATES.example/t', hosts)),
    'ok',
  );
  assert.is(
    code(() => checkRemoteSource('https://[2001:db8::1]:8443/t', hosts)),
    'ok',
  );
  assert.match(
    code(() => checkRemoteSource('https://evil.example/t', hosts)),
    /^bad-source: host evil.example/,
  );
});

test('redactPaths hides the OTA root; withDeadline gives up with a timeout', async () => {
  assert.is(
    redactPaths('ENOSPC: /var/lib/tandem/download/bundle.part', '/var/lib/tandem'),
    'ENOSPC: <ota root>/download/bundle.part',
  );
  const never = new Promise<never>(() => {});
  const t0 = Date.now();
  const keepAlive = setTimeout(() => {}, 5000); // the deadline's own timer is unref'd (daemon side)
  const e = await withDeadline(never, 50, 'the update').catch((x) => x);
  clearTimeout(keepAlive);
  assert.ok(e instanceof CommandError && e.code === 'timeout', String(e));
  assert.ok(Date.now() - t0 < 1000);
  assert.is(await withDeadline(Promise.resolve(7), 50, 'x'), 7);
});

async function server(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/b.tfw`,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

test('a download without Content-Length stops at the size cap and leaves no partial file', async () => {
  const root = tempDir('nolen');
  let sent = 0;
  const s = await server((_req, res) => {
    res.writeHead(200); // chunked, no length: the old agent wrote until the disk was full
    const chunk = Buffer.alloc(64 * 1024);
    const pump = () => {
      while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
      if (sent < 64 * 1024 * 1024) res.once('drain', pump);
      else res.end();
    };
    pump();
  });
  try {
    const r = await agent(root, { maxBundleBytes: 1024 * 1024 }).apply(s.url);
    assert.equal(r.ok ? 'ok' : r.reason, 'too-large');
    assert.ok(sent < 32 * 1024 * 1024, `the server sent ${sent} bytes before the agent hung up`);
    assert.not.ok(existsSync(join(root, 'download', 'bundle.part')));
  } finally {
    await s.close();
  }
});

test('a Content-Length over the cap is refused before a byte is written', async () => {
  const root = tempDir('biglen');
  const s = await server((_req, res) => {
    res.writeHead(200, { 'content-length': 10 * 1024 * 1024 * 1024 });
    res.write('x');
  });
  try {
    const r = await agent(root).apply(s.url);
    assert.ok(!r.ok && r.reason === 'too-large', JSON.stringify(r));
    assert.not.ok(existsSync(join(root, 'download', 'bundle.part')));
  } finally {
    await s.close();
  }
});

test('a downloaded bundle that fails verification is removed, so the next try downloads afresh', async () => {
  const root = tempDir('badsig');
  const bad = join(dir, 'badsig.tfw');
  await rewriteBundle(v1, bad, async (d) => {
    const f = join(d, 'manifest.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"rollbackIndex": 5', '"rollbackIndex": 9'));
  });
  const size = statSync(bad).size;
  const s = await server((_req, res) => {
    res.writeHead(200, { 'content-length': size, etag: '"x"' });
    createReadStream(bad).pipe(res);
  });
  try {
    const r = await agent(root).apply(s.url);
    assert.is(r.ok ? 'ok' : r.reason, 'bad-signature');
    assert.not.ok(existsSync(join(root, 'download', 'bundle.part')), 'bundle.part was left behind');
    assert.not.ok(existsSync(join(root, 'download', 'bundle.part.json')));
  } finally {
    await s.close();
  }
});

test('a payload file larger than its manifest entry is stopped at the manifest size', async () => {
  const root = tempDir('oversize');
  const bad = join(dir, 'oversize.tfw');
  await rewriteBundle(v1, bad, async (d) => {
    // Zeros compress to almost nothing: a small bundle that unpacks to 8 MiB.
    writeFileSync(join(d, 'payload', 'tandem.js'), Buffer.alloc(8 * 1024 * 1024));
  });
  const r = await agent(root).apply(bad);
  assert.ok(!r.ok && r.reason === 'digest-mismatch' && /exceeds its manifest size/.test(r.detail), JSON.stringify(r));
  assert.not.ok(existsSync(join(root, 'staging')));
});

test('two applies at once in one process: the second is busy, the first completes', async () => {
  const root = tempDir('twice');
  const a = agent(root);
  const [r1, r2] = await Promise.all([a.apply(v1), agent(root).apply(v1)]);
  assert.ok(r1.ok, JSON.stringify(r1));
  assert.equal(r2.ok ? 'ok' : [r2.reason, r2.detail], ['busy', 'another update is running']);
  const r3 = await a.apply(v1); // the lock is released afterwards
  assert.not.equal(r3.ok ? 'ok' : r3.reason, 'busy');
});

test('a device or FIFO as local source is refused at once, not hashed forever', async () => {
  const t0 = Date.now();
  const r = await agent(tempDir('devzero')).apply('/dev/zero');
  assert.ok(!r.ok && r.reason === 'not-found' && r.detail.includes('not a regular file'), JSON.stringify(r));
  assert.ok(Date.now() - t0 < 2000);
});

test.run();
