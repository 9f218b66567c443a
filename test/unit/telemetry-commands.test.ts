import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  COMMANDS,
  MAX_ID_CHARS,
  MAX_REQUEST_BYTES,
  parseRequest,
  ReplyCache,
  TWO_PHASE,
} from '../../firmware/telemetry/commands.ts';

const buf = (s: string) => Buffer.from(s);

test('parseRequest accepts each known command with id and args', () => {
  for (const name of COMMANDS) {
    const r = parseRequest(name, buf('{"id":"r-1","args":{"instance":"lan","value":120}}'));
    assert.equal(r, { ok: true, name, id: 'r-1', args: { instance: 'lan', value: 120 } });
  }
});

test('parseRequest takes an empty payload as a request without id or args', () => {
  assert.equal(parseRequest('status', Buffer.alloc(0)), { ok: true, name: 'status', id: null, args: {} });
});

test('parseRequest turns a numeric id into a string so replies echo it predictably', () => {
  const r = parseRequest('status', buf('{"id":42}'));
  assert.ok(r.ok && r.id === '42');
});

// [why, command, payload, code, id echoed]
const BAD: [string, string, string, string, string | null][] = [
  ['not JSON', 'status', '{id:', 'bad-json', null],
  ['JSON but not an object', 'status', '[1,2]', 'bad-request', null],
  ['a string', 'status', '"status"', 'bad-request', null],
  ['args not an object', 'set-priority', '{"id":"a","args":5}', 'bad-request', 'a'],
  ['id empty', 'status', '{"id":""}', 'bad-request', null],
  ['id an object', 'status', '{"id":{}}', 'bad-request', null],
  ['id too long', 'status', JSON.stringify({ id: 'x'.repeat(MAX_ID_CHARS + 1) }), 'bad-request', null],
  ['unknown command, id still echoed', 'reboot-now', '{"id":"z"}', 'unknown-command', 'z'],
  ['oversized request', 'status', JSON.stringify({ id: 'b', pad: 'x'.repeat(MAX_REQUEST_BYTES) }), 'bad-request', null],
];
test('parseRequest rejects malformed requests with a reason code and never throws', () => {
  for (const [why, name, payload, code, id] of BAD) {
    let r: ReturnType<typeof parseRequest> | undefined;
    assert.not.throws(() => {
      r = parseRequest(name, buf(payload));
    }, why);
    assert.ok(r && !r.ok, why);
    if (r && !r.ok) {
      assert.is(r.code, code, why);
      assert.is(r.id, id, why);
      assert.type(r.message, 'string');
    }
  }
});

test('reload and ota are two-phase; status, set-priority and maintenance reply directly', () => {
  assert.equal([...TWO_PHASE].sort(), ['ota', 'reload']);
  for (const quick of ['status', 'set-priority', 'maintenance']) assert.not.ok(TWO_PHASE.has(quick));
});

test('ReplyCache keeps the latest reply per key and forgets the least recently set beyond capacity', () => {
  const c = new ReplyCache(3);
  for (const k of ['a', 'b', 'c']) c.set(k, { id: k, cmd: 'status', status: 'accepted' });
  c.set('a', { id: 'a', cmd: 'status', status: 'done', result: 1 }); // a becomes most recent
  c.set('d', { id: 'd', cmd: 'status', status: 'done' });
  assert.is(c.size, 3);
  assert.is(c.get('b'), undefined, 'b was the oldest');
  assert.is(c.get('a')!.status, 'done');
  assert.ok(c.get('c') && c.get('d'));
});

test.run();
