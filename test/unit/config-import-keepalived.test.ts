// firmware/config/keepalived.ts: keepalived.conf -> tandem YAML. Every sample configuration that
// Debian's keepalived package ships with a vrrp_instance must import into a file that tandem's own
// validator accepts, with each keyword it drops listed at its line; small inputs pin each rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { main as importMain } from '../../firmware/commands/import.ts';
import { join } from 'node:path';
import { parse } from 'yaml';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions, TandemConfig } from '../../firmware/config/index.ts';
import { convertTrackWeight, formatNote, importKeepalived } from '../../firmware/config/keepalived.ts';
import type { ImportOptions } from '../../firmware/config/keepalived.ts';
import { keepalivedConf } from '../../lab/peers.ts';

const SAMPLES = '/usr/share/doc/keepalived/samples'; // Debian's keepalived (build.sh installs it)
const OPTS: ConfigOptions = { hostname: 'testhost', platform: 'linux', probe: () => 'ok' };

function imported(text: string, opts: ImportOptions = {}, file = 'k.conf') {
  const r = importKeepalived(text, file, opts);
  const c = parseConfig(r.yaml, 'out.yaml', OPTS);
  if (!c.ok) assert.unreachable(`imported YAML does not validate:\n${c.errors.map(formatIssue).join('\n')}\n${r.yaml}`);
  return { ...r, config: (c as { config: TandemConfig }).config, doc: parse(r.yaml) };
}

const notesAbout = (r: { notes: { what: string; line: number }[] }, what: string) =>
  r.notes.filter((n) => n.what.includes(what));

test('every Debian keepalived sample with a vrrp_instance imports into a valid tandem config', () => {
  assert.ok(existsSync(SAMPLES), `${SAMPLES} is missing: install Debian's keepalived (./build.sh does)`);
  const files = readdirSync(SAMPLES).filter((f) => readFileSync(join(SAMPLES, f), 'latin1').includes('vrrp_instance'));
  assert.ok(files.length >= 10, `expected the package's ~12 VRRP samples, found ${files.length}`);
  for (const f of files) {
    const text = readFileSync(join(SAMPLES, f), 'utf8');
    const declared = [...text.matchAll(/^\s*vrrp_instance\s+(\S+)/gm)].length;
    const r = imported(text, { configId: 'high' }, f);
    assert.is(r.config.instances.length, declared, `${f}: every vrrp_instance becomes an instance`);
    for (const n of r.notes) assert.ok(n.line >= 1 && n.file === f, `${f}: ${formatNote(n)}`);
  }
});

test('a sample without any vrrp_instance imports nothing and says so', () => {
  const r = importKeepalived(readFileSync(join(SAMPLES, 'keepalived.conf.IPv6'), 'utf8'), 'ipv6.conf');
  assert.is(r.instances, 0);
  assert.ok(r.notes.some((n) => n.what === 'vrrp_instance' && /nothing to import/.test(n.reason)));
  assert.ok(
    r.notes.some((n) => n.what === 'virtual_server' && n.line === 13),
    'the LVS block is listed at its line',
  );
});

test('keepalived.conf.vrrp: VRRPv2 by default, PASS authentication, a duplicate address kept once', () => {
  const r = imported(readFileSync(join(SAMPLES, 'keepalived.conf.vrrp'), 'utf8'));
  const [vi1, vi2] = r.config.instances;
  assert.is(r.config.node, 'LVS_DEVEL');
  assert.equal(
    [vi1.name, vi1.interface, vi1.vrid, vi1.version, vi1.priority, vi1.advertIntervalMs],
    ['VI_1', 'eth0', 51, 2, 100, 1000],
  );
  assert.equal(vi1.auth, { type: 'simple', password: '1111' });
  assert.equal(
    vi1.addresses.map((a) => a.address),
    ['192.168.200.16', '192.168.200.17', '192.168.200.18'],
  );
  assert.equal(vi2.auth, { type: 'none' });
  // line 32: `192.168.200.18 label eth0:1`, both the label and the repeat are listed
  assert.equal(
    notesAbout(r, 'virtual_ipaddress 192.168.200.18').map((n) => n.line),
    [32, 32],
  );
  assert.equal(
    notesAbout(r, 'garp_master_delay').map((n) => n.line),
    [16],
  );
  assert.equal(notesAbout(r, 'smtp_alert').length, 4);
  assert.equal(
    notesAbout(r, 'global_defs notification_email').map((n) => n.line),
    [4, 7],
  );
});

test('keepalived.conf.vrrp.localcheck: track weights carried 1:1, scripts with a shell command listed', () => {
  const r = imported(readFileSync(join(SAMPLES, 'keepalived.conf.vrrp.localcheck'), 'utf8'));
  const vi1 = r.config.instances[0];
  assert.equal(vi1.track.interfaces, [{ name: 'eth1', weight: 2 }, { name: 'eth2', weight: -2 }, { name: 'eth3' }]);
  assert.equal(vi1.track.scripts, [], 'killall -0 and </dev/tcp need a shell: none carried over');
  assert.equal(
    notesAbout(r, 'vrrp_script chk_sshd script').map((n) => n.line),
    [12],
  );
  assert.equal(
    notesAbout(r, 'VI_1 track_script').map((n) => n.line),
    [56, 57, 58, 59, 60],
  );
});

test('keepalived.conf.conditional_conf: --config-id picks the @ lines, use_vmac, track_script with rise/fall', () => {
  const text = readFileSync(join(SAMPLES, 'keepalived.conf.conditional_conf'), 'utf8');
  const high = imported(text, { configId: 'high' });
  const low = imported(text, { configId: 'low' });
  const i = high.config.instances[0];
  assert.is(i.priority, 170);
  assert.is(low.config.instances[0].priority, 85);
  assert.is(i.version, 3);
  assert.is(i.advertIntervalMs, 12_000);
  assert.is(i.macMode, 'virtual');
  assert.equal(i.track.scripts, [
    { run: '/etc/keepalived/scripts/check_high_VI_0.sh', intervalMs: 1000, timeoutMs: 1000, rise: 3, fall: 3 },
  ]);
  assert.equal(low.config.instances[0].track.scripts[0].run, '/etc/keepalived/scripts/check_low_VI_0.sh');
  assert.equal(notesAbout(high, 'check_VI_0 timeout').length, 1, 'timeout 10 > interval 1 is capped and said');
  const none = imported(text);
  assert.is(none.config.instances[0].priority, 100, 'no config id: the @ lines are left out');
  assert.ok(notesAbout(none, '@high').length >= 3);
});

test('keepalived.conf.vrrp.sync and .lvs_syncd: both sync group syntaxes', () => {
  const sync = imported(readFileSync(join(SAMPLES, 'keepalived.conf.vrrp.sync'), 'utf8'));
  assert.equal(sync.config.syncGroups, [
    { name: 'G1', instances: ['VI_1', 'VI_2', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9'] },
    { name: 'G2', instances: ['VI_3', 'VI_4'] },
  ]);
  assert.equal(
    notesAbout(sync, 'G1 notify').map((n) => n.line),
    [13, 14, 15],
  );
  const lvs = imported(readFileSync(join(SAMPLES, 'keepalived.conf.vrrp.lvs_syncd'), 'utf8'));
  assert.equal(lvs.config.syncGroups, [{ name: 'VG1', instances: ['VI_2', 'VI_3'] }]);
  assert.equal(lvs.config.instances[0].auth, { type: 'simple', password: 'grr02' });
});

test('keepalived.conf.vrrp.routes: addresses on another dev are listed, not moved to the wrong interface', () => {
  const r = imported(readFileSync(join(SAMPLES, 'keepalived.conf.vrrp.routes'), 'utf8'));
  assert.equal(
    r.config.instances[0].addresses.map((a) => a.address),
    ['192.168.200.16'],
  );
  assert.equal(
    notesAbout(r, 'virtual_ipaddress 192.168.200.17').map((n) => n.line),
    [22],
  );
  assert.equal(
    notesAbout(r, 'virtual_routes').map((n) => n.line),
    [25],
  );
  assert.equal(
    notesAbout(r, 'static_routes').map((n) => n.line),
    [7],
  );
});

const PAIR = `global_defs {
  router_id r1
  vrrp_version 3
  vrrp_garp_master_repeat 3
}
vrrp_instance lan
{
  interface eth0
  virtual_router_id 42
  priority 200
  advert_int 0.1
  nopreempt
  accept
  unicast_src_ip 192.0.2.11
  unicast_peer { 192.0.2.12
  }
  garp_master_refresh 2
  garp_interval 0.05
  notify /usr/local/sbin/vrrp-notify
  virtual_ipaddress {
    192.0.2.1/24 dev eth0
  }
}
`;

test('unicast peers, nopreempt, accept, sub-second v3 adverts, garp, notify and a brace on its own line', () => {
  const r = imported(PAIR);
  const i = r.config.instances[0];
  assert.equal(
    [i.vrid, i.version, i.priority, i.advertIntervalMs, i.preempt, i.acceptMode, i.sourceAddress, i.unicastPeers],
    [42, 3, 200, 100, false, true, '192.0.2.11', ['192.0.2.12']],
  );
  assert.equal(i.garp, { count: 3, intervalMs: 50, refreshMs: 2000 });
  assert.is(i.notify, '/usr/local/sbin/vrrp-notify');
  assert.equal(
    r.notes.map((n) => n.what),
    ['vrrp_instance lan notify'],
    'only the notify calling convention is noted',
  );
});

test('IPv6 means VRRPv3 whatever vrrp_version says; a second family is listed; v3 drops authentication', () => {
  const r = imported(`vrrp_instance v6 {
  interface eth0
  version 2
  virtual_router_id 7
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    fe80::1
    2001:db8::1/64
    192.0.2.1
  }
}`);
  const i = r.config.instances[0];
  assert.is(i.version, 3);
  assert.equal(
    i.addresses.map((a) => a.address),
    ['fe80::1', '2001:db8::1'],
  );
  assert.equal(
    notesAbout(r, 'version').map((n) => n.line),
    [3],
  );
  assert.equal(notesAbout(r, '192.0.2.1').length, 1);
  assert.equal(
    notesAbout(r, 'authentication').map((n) => n.line),
    [5],
  );
});

test('preempt_delay, an 8-byte password cut, a long name renamed, unknown track_script', () => {
  const r = imported(`vrrp_instance "a name with spaces" {
  interface eth1
  virtual_router_id 9
  preempt_delay 30
  authentication {
    auth_type PASS
    auth_pass 0123456789
  }
  track_script {
    nosuch
  }
  virtual_ipaddress {
    198.51.100.1
  }
}`);
  const i = r.config.instances[0];
  assert.is(i.name, 'a_name_with_spaces');
  assert.is(i.preemptDelayMs, 30_000);
  assert.equal(i.auth, { type: 'simple', password: '01234567' });
  assert.equal(
    notesAbout(r, 'nosuch').map((n) => n.line),
    [10],
  );
  assert.equal(notesAbout(r, 'vrrp_instance a name with spaces').map((n) => n.line)[0], 1);
});

test('include (glob through the reader, nested), $VARIABLES, and a reader error listed at its line', () => {
  const files: Record<string, string> = {
    '/etc/keepalived/conf.d/a.conf':
      'vrrp_instance A {\n  interface $IF\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\ninclude b.inc\n',
    '/etc/keepalived/conf.d/b.inc': 'vrrp_script chk {\n  script /usr/local/bin/chk\n  weight -10\n  interval 0.5\n}\n',
  };
  const readInclude: ImportOptions['readInclude'] = (pattern, from) => {
    if (pattern === 'conf.d/*.conf')
      return [{ file: '/etc/keepalived/conf.d/a.conf', text: files['/etc/keepalived/conf.d/a.conf'] }];
    if (pattern === 'b.inc' && from.endsWith('a.conf'))
      return [{ file: '/etc/keepalived/conf.d/b.inc', text: files['/etc/keepalived/conf.d/b.inc'] }];
    return { error: 'no file matches' };
  };
  const main = `$IF=eth3\ninclude conf.d/*.conf\ninclude missing/*.conf\nvrrp_instance B {\n  interface \${IF}\n  virtual_router_id 2\n  track_script {\n    chk\n  }\n  virtual_ipaddress {\n    192.0.2.2\n  }\n}\n`;
  const r = imported(main, { readInclude }, '/etc/keepalived/keepalived.conf');
  assert.equal(
    r.config.instances.map((i) => [i.name, i.interface]),
    [
      ['A', 'eth3'],
      ['B', 'eth3'],
    ],
  );
  assert.equal(r.config.instances[1].track.scripts, [
    { run: '/usr/local/bin/chk', intervalMs: 500, timeoutMs: 500, rise: 1, fall: 1, weight: -10 },
  ]);
  assert.equal(r.notes.map(formatNote), [
    '/etc/keepalived/keepalived.conf:3: include: missing/*.conf: no file matches',
  ]);
});

test('an include loop stops at the depth limit with a note; an unclosed block is said', () => {
  const r = importKeepalived('include self.conf\n', 'self.conf', {
    readInclude: () => [{ file: 'self.conf', text: 'include self.conf\n' }],
  });
  assert.is(r.instances, 0);
  assert.ok(r.notes.some((n) => /deeper than/.test(n.reason)));
  const u = importKeepalived('vrrp_instance X {\n interface eth0\n', 'u.conf');
  assert.ok(u.notes.some((n) => /not closed/.test(n.reason)));
});

test('track weights: one rule, carried 1:1 while tandem and keepalived are aligned (issue #11)', () => {
  assert.is(convertTrackWeight(undefined), undefined);
  assert.is(convertTrackWeight(0), undefined, 'weight 0 means fault while down, in both');
  assert.is(convertTrackWeight(-20), -20);
  assert.is(convertTrackWeight(20), 20);
});

test('every keepalived.conf the interop tests run imports into the same router', () => {
  for (const o of [
    { version: 3 as const, advertIntervalMs: 100, addresses: ['192.0.2.1'] },
    { version: 2 as const, advertIntervalMs: 1000, addresses: ['192.0.2.1'], preempt: false },
    { version: 3 as const, advertIntervalMs: 100, addresses: ['2001:db8::1'], family: 'ipv6' as const },
    {
      version: 3 as const,
      advertIntervalMs: 10,
      addresses: ['192.0.2.1'],
      unicastSrc: '192.0.2.11',
      unicastPeers: ['192.0.2.12'],
    },
  ]) {
    const text = keepalivedConf(
      { ifname: 'eth0', vrid: 42, priority: 150, ...o },
      { routerId: 'r1', notify: '/tmp/n.sh' },
    );
    const i = imported(text).config.instances[0];
    const label = JSON.stringify(o);
    assert.equal(
      [i.vrid, i.priority, i.version, i.advertIntervalMs, i.preempt, i.addresses[0].address, i.unicastPeers],
      [42, 150, o.version, o.advertIntervalMs, o.preempt ?? true, o.addresses[0], o.unicastPeers ?? []],
      label,
    );
    assert.is(i.sourceAddress, o.unicastSrc, label);
  }
});

test('tandem import on files: a relative include glob, sorted; -o writes the file; exit 1 with nothing to import', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-import-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    const inst = (n: number) =>
      `vrrp_instance VI_${n} {\n interface eth0\n virtual_router_id ${n}\n virtual_ipaddress {\n  192.0.2.${n}\n }\n}\n`;
    writeFileSync(join(dir, 'conf.d', 'b.conf'), inst(2));
    writeFileSync(join(dir, 'conf.d', 'a.conf'), inst(1));
    writeFileSync(join(dir, 'conf.d', 'skip.txt'), inst(3));
    writeFileSync(join(dir, 'keepalived.conf'), 'include conf.d/*.conf\n');
    let out = '';
    let err = '';
    const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) };
    assert.is(await importMain(['-o', join(dir, 't.yaml'), join(dir, 'keepalived.conf')], io), 0, err);
    const c = parseConfig(readFileSync(join(dir, 't.yaml'), 'utf8'), 't.yaml', OPTS);
    assert.ok(c.ok);
    if (c.ok)
      assert.equal(
        c.config.instances.map((i) => i.name),
        ['VI_1', 'VI_2'],
      );
    assert.is(out, '');
    writeFileSync(join(dir, 'lvs.conf'), 'virtual_server 192.0.2.1 80 {\n}\n');
    assert.is(await importMain([join(dir, 'lvs.conf')], io), 1);
    assert.match(err, /lvs\.conf:1: virtual_server: not carried over/);
    assert.is(await importMain([], io), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('accept mode: keepalived accepts by default as tandem does; vrrp_strict (no_accept) becomes accept_mode: false', () => {
  const inst = (extra = '') =>
    `vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  priority 100\n  ${extra}\n  virtual_ipaddress {\n    192.0.2.5/24\n  }\n}\n`;
  assert.is(imported(inst()).config.instances[0].acceptMode, true);
  assert.is(imported(`global_defs {\n  vrrp_strict\n}\n${inst()}`).config.instances[0].acceptMode, false);
  assert.is(imported(inst('no_accept')).config.instances[0].acceptMode, false);
});
test.run();
