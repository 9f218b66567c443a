// The Linux driver against a real kernel (root): two network namespaces joined by a veth pair.
// Driver calls run in child processes started with `ip netns exec NS node --import tsx -e ...`,
// so every socket the driver opens (ioctl, netlink, libpcap) lives in that namespace, as the
// daemon's would. Results come back as JSON lines on stdout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const ROOT = new URL('../..', import.meta.url).pathname;
const DRIVER = new URL('../../drivers/index.ts', import.meta.url).pathname;
const P = `t${randomBytes(2).toString('hex')}`;
const NS_A = `${P}a`,
  NS_B = `${P}b`,
  IF_A = `${P}va`,
  IF_B = `${P}vb`;
const children: ChildProcess[] = [];

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const ipj = (ns: string, ...args: string[]) => JSON.parse(ip('-n', ns, '-j', ...args));

/** Runs `body` (an async function body with `d`, a driver, in scope) in `ns`; returns its JSON. */
function runIn(ns: string, body: string, wrap: string[] = []): any {
  const code = `import { createDriver } from ${JSON.stringify(DRIVER)};
const d = createDriver();
const out = await (async () => { ${body} })();
d.close();
process.stdout.write(JSON.stringify(out ?? null) + '\\n');
process.exit(0);`;
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, ...wrap, process.execPath, '--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`child in ${ns} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Starts a long-lived child in `ns`; resolves each JSON line it prints to the `lines` array. */
function startIn(
  ns: string,
  body: string,
): { child: ChildProcess; lines: any[]; waitFor(pred: (l: any) => boolean, ms: number): Promise<any> } {
  const code = `import { createDriver } from ${JSON.stringify(DRIVER)};
const d = createDriver();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
${body}
setTimeout(() => process.exit(3), 20000);`;
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const lines: any[] = [];
  let buf = '',
    err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        /* not ours */
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  const waitFor = (pred: (l: any) => boolean, ms: number) =>
    new Promise<any>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`timed out after ${ms} ms; lines ${JSON.stringify(lines)} stderr ${err}`)),
        ms,
      );
      const check = () => {
        const hit = lines.find(pred);
        if (hit) {
          clearTimeout(deadline);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  return { child, lines, waitFor };
}

test.before(() => {
  ip('netns', 'add', NS_A);
  ip('netns', 'add', NS_B);
  ip('link', 'add', IF_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', IF_B, 'netns', NS_B);
  ip('-n', NS_A, 'link', 'set', IF_A, 'up');
  ip('-n', NS_B, 'link', 'set', IF_B, 'up');
});

test.after(() => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* gone */
    }
  }
});

test('setMac changes the veth MAC as `ip -j link` sees it, and the old one can be restored', () => {
  const r = runIn(
    NS_A,
    `const before = d.getMac('${IF_A}'); d.setMac('${IF_A}', '00:00:5e:00:01:33'); return { before, after: d.getMac('${IF_A}') };`,
  );
  assert.is(r.after, '00:00:5e:00:01:33');
  assert.is(ipj(NS_A, 'link', 'show', IF_A)[0].address, '00:00:5e:00:01:33');
  runIn(NS_A, `d.setMac('${IF_A}', '${r.before}');`);
  assert.is(ipj(NS_A, 'link', 'show', IF_A)[0].address, r.before);
});

test('link() reports index, MAC, up, carrier and MTU as the kernel has them', () => {
  const l = runIn(NS_A, `return d.link('${IF_A}');`);
  const k = ipj(NS_A, 'link', 'show', IF_A)[0];
  assert.equal(l, { ifname: IF_A, index: k.ifindex, mac: k.address, up: true, carrier: true, mtu: k.mtu });
});

test('IPv4 and IPv6 addresses are added (IPv6 not tentative), listed, and removed idempotently', () => {
  const r = runIn(
    NS_A,
    `
    d.addAddress('${IF_A}', '192.0.2.10/24');
    d.addAddress('${IF_A}', '192.0.2.10/24');           // again: not an error
    d.addAddress('${IF_A}', '2001:db8::10/64');
    return d.listAddresses('${IF_A}');`,
  );
  assert.ok(r.includes('192.0.2.10/24') && r.includes('2001:db8::10/64'), JSON.stringify(r));
  const info = ipj(NS_A, 'addr', 'show', 'dev', IF_A)[0].addr_info as any[];
  const v6 = info.find((a) => a.local === '2001:db8::10');
  assert.ok(v6, 'IPv6 address present');
  assert.not.ok(v6.tentative, 'IFA_F_NODAD: usable at once');
  assert.ok(info.find((a) => a.local === '192.0.2.10' && a.prefixlen === 24));
  runIn(
    NS_A,
    `
    d.removeAddress('${IF_A}', '192.0.2.10/24');
    d.removeAddress('${IF_A}', '192.0.2.10/24');        // already gone: not an error
    d.removeAddress('${IF_A}', '2001:db8::10/64');`,
  );
  const left = (ipj(NS_A, 'addr', 'show', 'dev', IF_A)[0].addr_info as any[]).map((a) => a.local);
  assert.not.ok(left.includes('192.0.2.10') || left.includes('2001:db8::10'), JSON.stringify(left));
});

test('a bridge-mode macvlan with the virtual MAC is created and deleted (idempotently)', () => {
  const name = `${P}mv`;
  runIn(NS_A, `d.createMacvlan('${IF_A}', '${name}', '00:00:5e:00:01:33');`);
  const k = ipj(NS_A, '-d', 'link', 'show', name)[0];
  assert.is(k.address, '00:00:5e:00:01:33');
  assert.is(k.linkinfo.info_kind, 'macvlan');
  assert.is(k.linkinfo.info_data.mode, 'bridge');
  assert.is(k.link, IF_A);
  const again = runIn(
    NS_A,
    `try { d.createMacvlan('${IF_A}', '${name}', '00:00:5e:00:01:33'); return 'no error'; } catch (e) { return e.code; }`,
  );
  assert.is(again, 'EEXIST');
  runIn(NS_A, `d.deleteLink('${name}'); d.deleteLink('${name}');`);
  assert.not.ok(ip('-n', NS_A, 'link').includes(name));
});

test('a frame injected in one namespace arrives byte for byte in the other, not back at the sender', async () => {
  // Ethernet to 01:00:5e:00:00:12 from the virtual MAC, IPv4 protocol 112, a VRRP-sized body.
  const frame =
    '01005e000012' +
    '00005e000133' +
    '0800' +
    '45c00028abcd0000ff70' +
    '0000' +
    'c0000201' +
    'e0000012' +
    '3133640101010064' +
    'c0000264' +
    '0000000000000000';
  const rx = startIn(
    NS_B,
    `
    const ch = d.openChannel('${IF_B}', { vrrp: true });
    ch.onFrame((f) => say({ frame: Buffer.from(f).toString('hex') }));
    say({ ready: true });`,
  );
  await rx.waitFor((l) => l.ready, 15_000);
  const tx = startIn(
    NS_A,
    `
    const ch = d.openChannel('${IF_A}', { vrrp: true });
    ch.onFrame((f) => say({ echo: Buffer.from(f).toString('hex') }));
    ch.send(Buffer.from('${frame}', 'hex'));
    say({ sent: true });
    setTimeout(() => say({ done: true }), 500);`,
  );
  await tx.waitFor((l) => l.done, 15_000);
  const got = await rx.waitFor((l) => l.frame, 3_000);
  assert.is(got.frame, frame);
  assert.not.ok(
    tx.lines.some((l) => l.echo),
    'our own frame is not captured by us',
  );
});

test('a link-down reaches the watcher quickly (generous bound: 2 s)', async () => {
  const w = startIn(
    NS_A,
    `
    d.watch((ev) => say({ ev, at: Date.now() }));
    say({ ready: true });
    setInterval(() => {}, 1000);`,
  );
  await w.waitFor((l) => l.ready, 15_000);
  const t0 = Date.now();
  ip('-n', NS_A, 'link', 'set', IF_A, 'down');
  try {
    const hit = await w.waitFor(
      (l) => l.ev && l.ev.type === 'link' && l.ev.ifname === IF_A && l.ev.up === false,
      2_000,
    );
    console.log(`link-down reached the watcher after ${hit.at - t0} ms`);
    assert.ok(hit.at - t0 < 2000);
    ip('-n', NS_A, 'addr', 'add', '198.51.100.7/24', 'dev', IF_A);
    const add = await w.waitFor((l) => l.ev && l.ev.type === 'address-added' && l.ev.address === '198.51.100.7', 2_000);
    assert.equal(add.ev, {
      type: 'address-added',
      ifname: IF_A,
      index: add.ev.index,
      address: '198.51.100.7',
      prefixLength: 24,
    });
  } finally {
    ip('-n', NS_A, 'link', 'set', IF_A, 'up');
    try {
      ip('-n', NS_A, 'addr', 'del', '198.51.100.7/24', 'dev', IF_A);
    } catch {
      /* not added */
    }
  }
});

test('errors name the op, interface and errno in words', () => {
  const r = runIn(
    NS_A,
    `
    const msg = (f) => { try { f(); return 'no error'; } catch (e) { return e.message; } };
    return {
      missing: msg(() => d.link('${P}none')),
      missingMac: msg(() => d.setMac('${P}none', '02:00:00:00:00:01')),
      multicast: msg(() => d.setMac('${IF_A}', '01:00:5e:00:00:12')),
      channel: msg(() => d.openChannel('${P}none')),
    };`,
  );
  assert.is(r.missing, `link ${P}none: ENODEV (no such interface)`);
  assert.is(r.missingMac, `set-mac ${P}none: ENODEV (no such interface)`);
  // eth_prepare_mac_addr_change(): a multicast MAC is not a valid station address.
  assert.is(
    r.multicast,
    `set-mac ${IF_A}: EADDRNOTAVAIL (address not valid here (multicast or zero MAC, or not configured))`,
  );
  assert.match(r.channel, /^open-channel t[0-9a-f]{4}none: ENODEV/);
});

test('a MAC the kernel refuses: a second macvlan may not take a MAC already on the port (EADDRINUSE)', () => {
  const m1 = `${P}m1`,
    m2 = `${P}m2`;
  try {
    const r = runIn(
      NS_A,
      `
      d.createMacvlan('${IF_A}', '${m1}', '00:00:5e:00:01:01');
      d.createMacvlan('${IF_A}', '${m2}', '00:00:5e:00:01:02');
      d.setUp('${m1}', true); d.setUp('${m2}', true);
      try { d.setMac('${m2}', '00:00:5e:00:01:01'); return 'no error'; } catch (e) { return { message: e.message, errno: e.errno }; }`,
    );
    assert.is(r.message, `set-mac ${m2}: EADDRINUSE (address already in use on this port)`);
    assert.is(r.errno, 98);
  } finally {
    runIn(NS_A, `d.deleteLink('${m1}'); d.deleteLink('${m2}');`);
  }
});

test('without root (setpriv to nobody, no capabilities) setMac fails with EPERM and says why', () => {
  const r = runIn(
    NS_A,
    `try { d.setMac('${IF_A}', '02:00:00:00:00:02'); return 'no error'; } catch (e) { return e.message; }`,
    ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'],
  );
  assert.is(r, `set-mac ${IF_A}: EPERM (not root / missing CAP_NET_ADMIN)`);
});

test('the channel joins the VRRP group MACs while open and leaves them on close', () => {
  const r = runIn(
    NS_A,
    `
    const { execFileSync } = await import('node:child_process');
    const groups = () => execFileSync('ip', ['maddr', 'show', 'dev', '${IF_A}'], { encoding: 'utf8' });
    const ch = d.openChannel('${IF_A}');
    const open = groups();
    ch.close();
    return { open, closed: groups() };`,
  );
  assert.match(r.open, /01:00:5e:00:00:12/);
  assert.match(r.open, /33:33:00:00:00:12/);
  // 33:33:00:00:00:01 etc. stay (the kernel's own); ours are gone.
  assert.not.match(r.closed, /01:00:5e:00:00:12/);
});

test.run();
