// The pure parts of the Linux cluster data path (drivers/linux/cluster-datapath.ts): the spec
// checks, the nft ruleset and bucket transactions it generates, the NA it answers an NS with, the
// jhash port the namespace test predicts owners with, and the BSD backend's refusal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBsdBackend, type BsdLibc } from '../../drivers/bsd/backend.ts';
import {
  bucketCommands,
  igmpGroupOf,
  neighborAdvertFor,
  planOf,
  ruleset,
  parseConntrackList,
} from '../../drivers/linux/cluster-datapath.ts';
import { DriverError, type ClusterDataPathSpec } from '../../drivers/types.ts';
import { decodeNd, encodeNeighborSolicit } from '../../firmware/core/packet/index.ts';
import { jhash, nftJhashBucket } from '../kit/jhash.ts';

const spec: ClusterDataPathSpec = {
  name: 'web',
  interface: 'eth0',
  id: 1,
  mac: '01:00:5e:00:01:01',
  macMode: 'multicast',
  addresses: ['192.0.2.80/32', '2001:db8::80/128'],
  buckets: 64,
  hash: 'source',
  seed: 0x1234,
};

const refused = (s: Partial<ClusterDataPathSpec>, re: RegExp) => {
  try {
    planOf({ ...spec, ...s });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, DriverError);
    assert.match(String(e), re);
  }
};

test('planOf refuses names nft cannot hold, MACs that do not fit the mode, bad bucket counts and no address', () => {
  refused({ name: 'a b' }, /cluster name/);
  assert.is(planOf({ ...spec, name: 'web-1.eu' }).table, 'tandem_web-1.eu');
  refused({ macMode: 'unicast' }, /unicast mode needs a unicast cluster MAC/);
  refused({ mac: '02:bf:c0:00:02:50' }, /multicast mode needs a multicast cluster MAC/);
  refused({ macMode: 'igmp', mac: '03:bf:c0:00:02:50' }, /igmp mode needs an IPv4 group MAC/);
  refused({ buckets: 0 }, /buckets must be/);
  refused({ addresses: [] }, /at least one address/);
  refused({ addresses: ['192.0.2.300/32'] }, /not an address/);
});

test('the ruleset hashes addresses only (never ports), per family, and names the interface', () => {
  const text = ruleset(planOf(spec), 'c');
  assert.match(text, /meta mark set jhash ip saddr mod 64 seed 0x1234 goto bucket/);
  assert.match(text, /meta mark set jhash ip6 saddr mod 64 seed 0x1234 goto bucket/);
  assert.match(text, /meta mark set jhash arp saddr ip mod 64 seed 0x1234/);
  assert.match(text, /nd-neighbor-advert meta mark set jhash ip6 daddr mod 64 seed 0x1234 goto na_reply/);
  assert.not.match(text, /sport|dport|th /);
  assert.match(text, /hook ingress device "eth0"/);
  assert.match(text, /arp saddr ether set 01:00:5e:00:01:01/);
  const sd = ruleset(planOf({ ...spec, hash: 'source-dest' }), 'c');
  assert.match(sd, /jhash ip saddr \. ip daddr mod 64/);
  assert.match(sd, /jhash ip6 saddr \. ip6 daddr mod 64/);
  assert.match(sd, /jhash arp saddr ip \. arp daddr ip mod 64/);
  assert.match(sd, /jhash ip6 daddr \. ip6 saddr mod 64/);
});

test('bucketCommands is one flush-and-refill transaction; owned wins over draining; out of range refused', () => {
  assert.is(
    bucketCommands('tandem_web', 8, [3, 1], [1, 5]),
    [
      'flush set netdev tandem_web owned',
      'flush set netdev tandem_web serving',
      'flush set inet tandem_web draining',
      'flush set inet tandem_web handing',
      'add element netdev tandem_web owned { 1, 3 }',
      'add element netdev tandem_web serving { 1, 3, 5 }',
      'add element inet tandem_web draining { 5 }',
      '',
    ].join('\n'),
  );
  // handing is a subset of draining: an owned or unknown bucket is not handed
  assert.match(
    bucketCommands('tandem_web', 8, [3], [5, 6], [3, 5, 7]),
    /add element inet tandem_web handing \{ 5 \}\n$/,
  );
  assert.throws(() => bucketCommands('tandem_web', 8, [8], []), /bucket 8 is not in 0..7/);
});

test('igmp mode joins the 239/8 group whose mapped MAC is the cluster MAC (RFC 1112 6.4)', () => {
  assert.is(igmpGroupOf('01:00:5e:7e:54:07'), '239.126.84.7');
});

test('an NS for a cluster address is answered with a solicited NA carrying the cluster MAC (RFC 4861 7.2.4)', () => {
  const ns = encodeNeighborSolicit({ srcMac: '02:00:00:00:00:c1', src: '2001:db8::150', target: '2001:db8::80' });
  const na = neighborAdvertFor(ns, new Set(['2001:db8::80']), '02:00:00:00:00:0a', '01:00:5e:00:01:01');
  assert.ok(na);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  assert.is(hex(na.subarray(0, 6)), '0200000000c1', 'to the asker');
  assert.is(hex(na.subarray(6, 12)), '02000000000a', 'from the node MAC');
  const r = decodeNd(na.subarray(54), na.subarray(22, 38), na.subarray(38, 54));
  assert.ok(r.ok);
  if (r.ok) {
    assert.equal(
      [r.nd.type, r.nd.target, r.nd.dst, r.nd.solicited, r.nd.router, r.nd.linkAddr],
      [136, '2001:db8::80', '2001:db8::150', true, false, '01:00:5e:00:01:01'],
    );
  }
  const other = encodeNeighborSolicit({ srcMac: '02:00:00:00:00:c1', src: '2001:db8::150', target: '2001:db8::81' });
  assert.is(neighborAdvertFor(other, new Set(['2001:db8::80']), '02:00:00:00:00:0a', '01:00:5e:00:01:01'), null);
});

test('jhash matches lookup3 reference values (hashlittle of "" and "Four score..." with initval 0)', () => {
  // Bob Jenkins' lookup3.c driver5(): hashlittle("", 0, 0) = 0xdeadbeef;
  // hashlittle("Four score and seven years ago", 30, 0) = 0x17770551, initval 1: 0xcd628161.
  assert.is(jhash(new Uint8Array(0), 0), 0xdeadbeef);
  const text = new TextEncoder().encode('Four score and seven years ago');
  assert.is(jhash(text, 0), 0x17770551);
  assert.is(jhash(text, 1), 0xcd628161);
  assert.ok(nftJhashBucket(Uint8Array.of(192, 0, 2, 1), 64, 7) < 64);
});

test('the BSD backend refuses a cluster data path with a clear ENOTSUP', () => {
  const bsd = createBsdBackend('netbsd', { abi: 'lp64', loadLibc: () => ({}) as unknown as BsdLibc });
  try {
    bsd.openClusterDataPath(spec);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, DriverError);
    assert.is((e as DriverError).code, 'ENOTSUP');
    assert.match(String(e), /no active-active cluster data path on netbsd/);
  }
  bsd.removeClusterDataPath('web', 'wm0');
});

const forward: ClusterDataPathSpec = {
  ...spec,
  name: 'fw',
  addresses: ['192.0.2.1/24'],
  mode: 'forward',
  returnPath: { interface: 'wan', addresses: ['198.51.100.1/24'] },
};

test('forward mode: every IPv4 frame to the cluster MAC is hashed on the client, source inside and destination on the return path', () => {
  const text = ruleset(planOf(forward), 'c');
  assert.match(
    text,
    /ether daddr 01:00:5e:00:01:01 meta protocol ip meta mark set jhash ip saddr mod 64 seed 0x1234 goto bucket/,
  );
  assert.match(text, /hook ingress device "wan"[^}]*meta mark set jhash ip daddr mod 64 seed 0x1234 goto bucket/s);
  assert.match(text, /arp daddr ip @raddrs4 goto arp_request/);
  assert.match(
    text,
    /meta oifname "wan" arp operation reply arp saddr ip @raddrs4 arp saddr ether set 01:00:5e:00:01:01/,
  );
  assert.match(text, /iifname \{ "eth0", "wan" \} ether daddr 01:00:5e:00:01:01 goto cluster/);
  assert.match(text, /meta mark @draining meta mark != @handing meta l4proto != tcp drop\n\s*meta mark set 0/);
  assert.not.match(text, /ip daddr @addrs4 meta mark/, 'not only the gateway address: everything routed through it');
  assert.not.match(text, /sport|dport|th /);
  // local mode keeps the service-address rules and no return chain
  const local = ruleset(planOf(spec), 'c');
  assert.not.match(local, /ingress_return|raddrs4/);
});

test('forward mode refuses what it cannot do: no return path, the same interface, IPv6, a source-dest hash; a return path without forward', () => {
  const no = (s: Partial<ClusterDataPathSpec>, re: RegExp) => refused({ ...forward, ...s }, re);
  no({ returnPath: undefined }, /needs a return path/);
  no({ returnPath: { interface: 'eth0', addresses: ['198.51.100.1/24'] } }, /its own, valid interface/);
  no({ addresses: ['2001:db8::1/64'] }, /IPv4/);
  no({ hash: 'source-dest' }, /hashes the client/);
  no({ returnPath: { interface: 'wan', addresses: ['2001:db8::1/64'] } }, /not an IPv4 address/);
  refused({ returnPath: { interface: 'wan', addresses: ['198.51.100.1/24'] } }, /needs forward mode/);
});

test('conntrack -L in forward mode: every flow through the node, none of its own', () => {
  const text = [
    'tcp      6 431999 ESTABLISHED src=192.0.2.150 dst=198.51.100.100 sport=40000 dport=5001 src=198.51.100.100 dst=192.0.2.150 sport=5001 dport=40000 [ASSURED] mark=0 use=1',
    'tcp      6 431999 ESTABLISHED src=192.0.2.11 dst=198.51.100.100 sport=40001 dport=22 src=198.51.100.100 dst=192.0.2.11 sport=22 dport=40001 [ASSURED] mark=0 use=1',
    'tcp      6 431999 ESTABLISHED src=192.0.2.151 dst=192.0.2.11 sport=40002 dport=22 src=192.0.2.11 dst=192.0.2.151 sport=22 dport=40002 [ASSURED] mark=0 use=1',
    'tcp      6 119 TIME_WAIT src=192.0.2.152 dst=198.51.100.100 sport=40003 dport=5001 src=198.51.100.100 dst=192.0.2.152 sport=5001 dport=40003 [ASSURED] mark=0 use=1',
  ].join('\n');
  assert.equal(parseConntrackList(text, null, new Set(['192.0.2.11', '198.51.100.11'])), [
    { client: '192.0.2.150', service: '198.51.100.100' },
  ]);
});

test('conntrack -L lines: open TCP connections to the cluster addresses, original direction; TIME_WAIT and CLOSE are over', () => {
  const text = [
    'tcp      6 431999 ESTABLISHED src=198.51.100.10 dst=192.0.2.80 sport=40000 dport=80 src=192.0.2.80 dst=198.51.100.10 sport=80 dport=40000 [ASSURED] mark=7 use=1',
    'tcp      6 119 TIME_WAIT src=198.51.100.11 dst=192.0.2.80 sport=40001 dport=80 src=192.0.2.80 dst=198.51.100.11 sport=80 dport=40001 [ASSURED] mark=0 use=1',
    'tcp      6 9 CLOSE src=198.51.100.12 dst=192.0.2.80 sport=40002 dport=80 src=192.0.2.80 dst=198.51.100.12 sport=80 dport=40002 mark=0 use=1',
    'tcp      6 59 FIN_WAIT src=198.51.100.13 dst=192.0.2.80 sport=40003 dport=80 src=192.0.2.80 dst=198.51.100.13 sport=80 dport=40003 [ASSURED] mark=0 use=1',
    'tcp      6 431999 ESTABLISHED src=198.51.100.14 dst=192.0.2.99 sport=40004 dport=22 src=192.0.2.99 dst=198.51.100.14 sport=22 dport=40004 [ASSURED] mark=0 use=1',
    'tcp      6 431999 ESTABLISHED src=2001:db8::10 dst=2001:db8::80 sport=40005 dport=80 src=2001:db8::80 dst=2001:db8::10 sport=80 dport=40005 [ASSURED] mark=0 use=1',
    'udp      17 29 src=198.51.100.15 dst=192.0.2.80 sport=5000 dport=53 [UNREPLIED] src=192.0.2.80 dst=198.51.100.15 sport=53 dport=5000 mark=0 use=1',
    'conntrack v1.4.7 (conntrack-tools): 7 flow entries have been shown.',
    '',
  ].join('\n');
  assert.equal(parseConntrackList(text, new Set(['192.0.2.80', '2001:db8::80'])), [
    { client: '198.51.100.10', service: '192.0.2.80' },
    { client: '198.51.100.13', service: '192.0.2.80' },
    { client: '2001:db8::10', service: '2001:db8::80' },
  ]);
});

test.run();
