// drivers/sd-notify.ts: the sockaddr_un it builds, and a real datagram to a unix socket (a python3
// receiver stands in for systemd, which listens the same way), path and abstract forms.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sdNotify, sockaddrUn } from '../../drivers/sd-notify.ts';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'undefined');

test('sockaddr_un: AF_UNIX (1, little-endian), the path and its NUL; abstract names start with a NUL byte', () => {
  assert.is(hex(sockaddrUn('/run/n')), '0100' + '2f72756e2f6e' + '00');
  assert.is(hex(sockaddrUn('@sd')), '0100' + '00' + '7364');
  assert.is(sockaddrUn('relative'), undefined);
  assert.is(sockaddrUn(`/${'x'.repeat(107)}`), undefined, 'sun_path is 108 bytes with the NUL');
  assert.ok(sockaddrUn(`/${'x'.repeat(106)}`));
});

test('no NOTIFY_SOCKET: nothing is sent and nothing fails', () => {
  assert.equal(sdNotify('READY=1', {}), { sent: false, reason: 'no NOTIFY_SOCKET' });
});

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1].replace('@', '\\0', 1))
print('ready', flush=True)
s.settimeout(5)
print(s.recv(4096).decode().replace('\\n', '|'), flush=True)
`;

async function roundTrip(address: string, message: string): Promise<string> {
  const p = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const deadline = Date.now() + 5000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const r = sdNotify(message, { NOTIFY_SOCKET: address });
  await new Promise((r) => p.once('exit', r));
  assert.equal(r, { sent: true });
  return out.split('\n')[1] ?? '';
}

test('a datagram reaches a receiver on a path and on an abstract name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-sdn-'));
  try {
    assert.is(await roundTrip(join(dir, 'notify'), 'READY=1\nSTATUS=1 master'), 'READY=1|STATUS=1 master');
    assert.is(await roundTrip(`@tandem-test-${process.pid}`, 'STOPPING=1'), 'STOPPING=1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a socket nobody listens on is a reason, not a throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-sdn-'));
  const r = sdNotify('READY=1', { NOTIFY_SOCKET: join(dir, 'none') });
  rmSync(dir, { recursive: true, force: true });
  assert.is(r.sent, false);
  assert.match((r as { reason: string }).reason, /ENOENT/);
  assert.not.ok(existsSync(join(dir, 'none')));
});

test.run();
