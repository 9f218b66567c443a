// StrictModes for what tandem runs or trusts as root (issue #12): a group- or world-writable
// config, script or key, or one owned by another user, is reported; a sticky /tmp is fine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../firmware/config/index.ts';
import { checkFileModes, trustedFiles } from '../../firmware/supervisor/file-modes.ts';

test('each trusted file of a config is listed: config, scripts, OTA and MQTT keys, password and TLS key', () => {
  const yaml = `instances:
  - name: a
    interface: eth0
    vrid: 1
    addresses: [192.0.2.10]
    notify: /etc/tandem/notify
    track: { scripts: [{ run: /etc/tandem/check }] }
telemetry:
  mqtt: { url: mqtts://b.example, password_file: /etc/tandem/pw, cert: /etc/tandem/c.pem, key: /etc/tandem/k.pem, commands: { trusted_keys: [/etc/tandem/ops.pub] } }
ota: { trusted_keys: [/etc/tandem/ota.pub] }
`;
  const r = loadConfig('/etc/tandem/tandem.yaml', {
    hostname: 'h',
    platform: 'linux',
    readFile: () => yaml,
    probe: () => 'ok',
  });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(
    trustedFiles(r.config, '/etc/tandem/tandem.yaml').map((f) => f.path),
    [
      '/etc/tandem/tandem.yaml',
      '/etc/tandem/notify',
      '/etc/tandem/check',
      '/etc/tandem/ota.pub',
      '/etc/tandem/ops.pub',
      '/etc/tandem/pw',
      '/etc/tandem/k.pem',
    ],
  );
});

test('group/other-writable files and directories, and other owners, are reported; 0644 in 0755 or /tmp is fine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-modes-'));
  try {
    const f = join(dir, 'tandem.yaml');
    writeFileSync(f, 'x');
    chmodSync(f, 0o644);
    chmodSync(dir, 0o755);
    const files = [{ path: f, what: 'the config file' }];
    assert.equal(checkFileModes(files), []);
    chmodSync(f, 0o666);
    assert.equal(checkFileModes(files), [`${f} (the config file) is writable by group or others (mode 666)`]);
    chmodSync(f, 0o644);
    chmodSync(dir, 0o775);
    assert.match(checkFileModes(files)[0] ?? '', /holding .* is writable by group or others \(mode 775\)/);
    chmodSync(dir, 0o755);
    // A symlink counts as the file it names.
    const link = join(dir, 'link.yaml');
    symlinkSync(f, link);
    chmodSync(f, 0o646);
    assert.match(checkFileModes([{ path: link, what: 'x' }])[0] ?? '', /writable by group or others/);
    chmodSync(f, 0o644);
    if (process.getuid?.() === 0) {
      chownSync(f, 4321, 4321);
      assert.match(checkFileModes(files, 0)[0] ?? '', /owned by uid 4321/);
      assert.equal(checkFileModes(files, 4321), [], "the daemon's own user may own it");
    }
    // Directly in a sticky /tmp: allowed.
    const t = join(tmpdir(), `tandem-modes-${process.pid}.yaml`);
    writeFileSync(t, 'x');
    chmodSync(t, 0o600);
    assert.equal(checkFileModes([{ path: t, what: 'x' }]), []);
    rmSync(t, { force: true });
    assert.equal(checkFileModes([{ path: join(dir, 'missing'), what: 'x' }]), [], 'missing: the config check warns');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
