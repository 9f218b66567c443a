// The crash journal is read as root at start and undone (issue #12): only well-formed records of
// this boot are used, the state directory must be ours and not group/other-writable, and a failed
// background write does not end the engine thread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkStateDir, Journal, validChanges } from '../../firmware/engine/journal.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'tandem-journal-'));

test('JSON null, a list or a string in the journal: no records, no throw', () => {
  for (const text of ['null', '[]', '"x"', '42']) {
    const dir = fresh();
    try {
      writeFileSync(join(dir, 'changes.json'), text);
      const j = new Journal(dir);
      assert.is(j.leftovers(), undefined, text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('only well-formed records are kept: links tandem makes, interface names, MACs, CIDRs, known settings', () => {
  const { changes, rejected } = validChanges({
    pid: 7,
    macs: { eth0: '02:00:00:00:00:01', 'eth0; reboot': '02:00:00:00:00:02', eth1: 'not-a-mac' },
    addresses: [
      { ifname: 'eth0', cidr: '192.0.2.254/24' },
      { ifname: 'eth0', cidr: '2001:db8::1/64' },
      { ifname: '../../etc', cidr: '192.0.2.1/24' },
      { ifname: 'eth0', cidr: 'everything' },
      null,
    ],
    links: ['vr4.3.51', 'cp6.12.7', 'eth0', 'br0', 42],
    settings: [
      { ifname: 'eth0', name: 'arp_ignore', original: '0' },
      { ifname: 'eth0', name: 'kernel/core_pattern', original: '|/bin/sh' },
    ],
    sysctls: { '/proc/sys/kernel/core_pattern': '|/bin/sh' },
  });
  assert.equal(changes.macs, { eth0: '02:00:00:00:00:01' });
  assert.equal(changes.addresses, [
    { ifname: 'eth0', cidr: '192.0.2.254/24' },
    { ifname: 'eth0', cidr: '2001:db8::1/64' },
  ]);
  assert.equal(changes.links, ['vr4.3.51', 'cp6.12.7'], 'never a link tandem did not create');
  assert.ok(changes.settings.every((x) => x.name !== ('kernel/core_pattern' as never)));
  assert.is(rejected.length, 8, rejected.join('; '));
});

test('a journal from an earlier boot is ignored (its kernel state is gone)', () => {
  let bootId = '';
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return; // no boot id on this system: nothing to compare
  }
  const dir = fresh();
  try {
    const rec = { pid: 1, macs: {}, addresses: [{ ifname: 'eth0', cidr: '192.0.2.1/24' }], links: [], settings: [] };
    writeFileSync(join(dir, 'changes.json'), JSON.stringify({ ...rec, bootId: 'not-this-boot' }));
    const j = new Journal(dir);
    assert.is(j.leftovers(), undefined);
    assert.equal(j.ignored, ['the journal is from an earlier boot']);
    writeFileSync(join(dir, 'changes.json'), JSON.stringify({ ...rec, bootId }));
    assert.equal(new Journal(dir).leftovers()?.addresses, rec.addresses);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state directory writable by group or others is refused', () => {
  const dir = fresh();
  try {
    assert.is(checkStateDir(dir), undefined);
    chmodSync(dir, 0o777);
    assert.match(checkStateDir(dir) ?? '', /writable by group or others \(mode 777\)/);
    assert.throws(() => new Journal(dir), /state_dir: .*\(chmod go-w\)/);
    chmodSync(dir, 0o750);
    if (process.getuid?.() === 0) {
      chownSync(dir, 12345, 12345); // another user's directory: a root daemon must not trust it
      assert.match(checkStateDir(dir, 0) ?? '', /owned by uid 12345/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed background write is kept as writeError, not thrown out of setImmediate', async () => {
  const dir = fresh();
  const j = new Journal(dir);
  rmSync(dir, { recursive: true, force: true }); // the write now fails (ENOENT)
  j.recordAddress('eth0', '192.0.2.254/24'); // coalesced: written in setImmediate
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.match(j.writeError ?? '', /ENOENT/);
  assert.equal(j.current().addresses, [{ ifname: 'eth0', cidr: '192.0.2.254/24' }], 'kept in memory');
});

test.run();
