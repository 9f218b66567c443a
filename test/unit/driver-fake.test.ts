// FakeDriver and FakeLan: the behaviour the daemon's unit tests rely on, matching the Linux driver.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { channelFilter, NEIGHBOR_FILTER, VRRP_FILTER } from '../../drivers/pcap-channel.ts';
import { DriverError, type NetEvent } from '../../drivers/types.ts';

const tick = () => new Promise<void>((r) => setTimeout(r, 0));
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
// Ethernet + the first bytes of IPv4 with protocol 112 (VRRP) at offset 23.
const VRRP4 = bytes(`01005e00001200005e000133080045c0002800000000ff70${'00'.repeat(20)}`);
const ARP = bytes(`ffffffffffff02fa0000000108060001080006040001${'00'.repeat(20)}`);
const OTHER = bytes(`ffffffffffff02fa0000000108004500002800000000401106${'00'.repeat(20)}`);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.instance(e, DriverError);
    return (e as DriverError).code;
  }
  return 'no error';
}

test('links, MACs and the errors the Linux driver gives', () => {
  const d = new FakeDriver({ links: { eth0: { mac: '02:00:00:00:00:01' }, em0: { refuseMacWhileUp: true } } });
  assert.is(d.getMac('eth0'), '02:00:00:00:00:01');
  d.setMac('eth0', '00:00:5E:00:01:07');
  assert.is(d.link('eth0').mac, '00:00:5e:00:01:07');
  assert.is(
    code(() => d.link('nope')),
    'ENODEV',
  );
  assert.is(
    code(() => d.setMac('eth0', '01:00:5e:00:00:12')),
    'EADDRNOTAVAIL',
  );
  assert.is(
    code(() => d.setMac('eth0', 'nonsense')),
    'EINVAL',
  );
  assert.is(
    code(() => d.setMac('em0', '00:00:5e:00:01:07')),
    'EBUSY',
  );
  d.setMac('em0', '00:00:5e:00:01:07', { cycleLink: true });
  assert.is(d.getMac('em0'), '00:00:5e:00:01:07');
  assert.ok(d.link('em0').up, 'cycled back up');
  assert.equal(d.callsOf('set-mac').length, 5);
});

test('addresses and deleteLink are idempotent; createMacvlan refuses a duplicate', () => {
  const d = new FakeDriver({ links: { eth0: {} } });
  d.addAddress('eth0', '192.0.2.1/24');
  d.addAddress('eth0', '192.0.2.1/24');
  d.addAddress('eth0', '2001:DB8::1/64');
  assert.equal(d.listAddresses('eth0'), ['192.0.2.1/24', '2001:db8::1/64']);
  d.removeAddress('eth0', '192.0.2.1/24');
  d.removeAddress('eth0', '192.0.2.1/24');
  assert.equal(d.listAddresses('eth0'), ['2001:db8::1/64']);
  d.createMacvlan('eth0', 'vrrp51', '00:00:5e:00:01:33');
  assert.is(
    code(() => d.createMacvlan('eth0', 'vrrp51', '00:00:5e:00:01:33')),
    'EEXIST',
  );
  assert.is(
    code(() => d.createMacvlan('eth0', 'vrrp52', '00:00:5e:00:01:33')),
    'EADDRINUSE',
  );
  assert.is(
    code(() => d.createMacvlan('eth9', 'vrrp53', '00:00:5e:00:01:34')),
    'ENODEV',
  );
  const mv = d.link('vrrp51');
  assert.equal([mv.mac, mv.up, mv.carrier], ['00:00:5e:00:01:33', false, false]);
  d.deleteLink('vrrp51');
  d.deleteLink('vrrp51');
  assert.is(
    code(() => d.link('vrrp51')),
    'ENODEV',
  );
});

test('events arrive after the call (microtask), one per real change', async () => {
  const d = new FakeDriver({ links: { eth0: {} } });
  const seen: NetEvent[] = [];
  const stop = d.watch((e) => seen.push(e));
  d.setUp('eth0', false);
  d.setUp('eth0', false);
  assert.is(seen.length, 0, 'not inside the call');
  await tick();
  d.addAddress('eth0', '192.0.2.9/24');
  d.setCable('eth0', false);
  d.setUp('eth0', true);
  await tick();
  const idx = d.link('eth0').index;
  assert.equal(seen, [
    { type: 'link', ifname: 'eth0', index: idx, up: false, carrier: false },
    { type: 'address-added', ifname: 'eth0', index: idx, address: '192.0.2.9', prefixLength: 24 },
    { type: 'link', ifname: 'eth0', index: idx, up: true, carrier: false },
  ]);
  stop();
  d.setUp('eth0', false);
  await tick();
  assert.is(seen.length, 3, 'nothing after unwatch');
});

test('failNext makes exactly the next call fail with that code', () => {
  const d = new FakeDriver({ links: { eth0: {} } });
  d.failNext('add-address', 'EPERM');
  assert.is(
    code(() => d.addAddress('eth0', '192.0.2.1/24')),
    'EPERM',
  );
  d.addAddress('eth0', '192.0.2.1/24');
  assert.equal(d.listAddresses('eth0'), ['192.0.2.1/24']);
});

test('multicast joins are counted like the Linux driver', () => {
  const d = new FakeDriver({ links: { eth0: {} } });
  d.joinMulticast('eth0', '224.0.0.18');
  d.joinMulticast('eth0', '01:00:5e:00:00:12');
  d.leaveMulticast('eth0', '224.0.0.18');
  assert.equal(d.joinedGroups('eth0'), ['01:00:5e:00:00:12']);
  d.leaveMulticast('eth0', '224.0.0.18');
  assert.equal(d.joinedGroups('eth0'), []);
  assert.is(
    code(() => d.joinMulticast('eth0', '192.0.2.1')),
    'EINVAL',
  );
});

test('FakeLan carries a frame to the other routers, not back to the sender, filtered like pcap', async () => {
  const lan = new FakeLan();
  const a = new FakeDriver({ links: { eth0: {} } });
  const b = new FakeDriver({ links: { eth0: {} } });
  const c = new FakeDriver({ links: { eth0: {} } });
  for (const d of [a, b, c]) lan.attach(d, 'eth0');
  const got: Record<string, string[]> = { a: [], b: [], c: [], bn: [] };
  const ca = a.openChannel('eth0', { vrrp: true });
  b.openChannel('eth0').onFrame((f) => got.b.push(Buffer.from(f).toString('hex')));
  b.openChannel('eth0', { vrrp: false, neighbor: true }).onFrame((f) => got.bn.push(Buffer.from(f).toString('hex')));
  c.openChannel('eth0').onFrame((f) => got.c.push(Buffer.from(f).toString('hex')));
  ca.onFrame((f) => got.a.push(Buffer.from(f).toString('hex')));
  ca.send(VRRP4);
  ca.send(ARP);
  ca.send(OTHER);
  await tick();
  const v = Buffer.from(VRRP4).toString('hex');
  assert.equal(got.a, [], 'the sender does not see its own frames');
  assert.equal(got.b, [v]);
  assert.equal(got.c, [v]);
  assert.equal(got.bn, [Buffer.from(ARP).toString('hex')]);
  assert.is(a.sentFrames('eth0').length, 3);
  // A link down or a cut port stops delivery.
  c.setUp('eth0', false);
  lan.setCut(b, 'eth0', true);
  ca.send(VRRP4);
  await tick();
  assert.equal([got.b.length, got.c.length], [1, 1]);
  lan.setCut(b, 'eth0', false);
  ca.send(VRRP4);
  await tick();
  assert.equal([got.b.length, got.c.length], [2, 1]);
  // deliver() injects a frame from "outside".
  assert.is(c.deliver('eth0', VRRP4), 1);
  a.close();
  assert.is(
    code(() => ca.send(VRRP4)),
    'EBADF',
  );
});

test('channel filters: VRRP by default, neighbor traffic on request, nothing is an error', () => {
  assert.is(channelFilter(), `(${VRRP_FILTER})`);
  assert.is(channelFilter({ neighbor: true }), `(${VRRP_FILTER}) or (${NEIGHBOR_FILTER})`);
  assert.is(channelFilter({ vrrp: false, neighbor: true }), `(${NEIGHBOR_FILTER})`);
  assert.is(channelFilter({ vrrp: false }), null);
  assert.is(channelFilter({ filter: 'arp' }), 'arp');
});

test.run();
