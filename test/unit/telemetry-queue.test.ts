import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AckQueue } from '../../firmware/telemetry/queue.ts';
import { backoffDelayMs } from '../../firmware/telemetry/backoff.ts';

const values = <T>(q: AckQueue<T>) => {
  const out: T[] = [];
  q.rewind();
  for (let it = q.takeNext(); it; it = q.takeNext()) out.push(it.value);
  q.rewind();
  return out;
};

test('AckQueue hands items out in order and keeps them until acknowledged', () => {
  const q = new AckQueue<number>(4);
  q.push(1);
  q.push(2);
  q.push(3);
  const a = q.takeNext()!,
    b = q.takeNext()!;
  assert.is(a.value, 1);
  assert.is(b.value, 2);
  assert.is(q.sentCount, 2);
  q.ack(a);
  assert.is(q.length, 2);
  assert.equal(values(q), [2, 3]);
});

test('AckQueue releases an out-of-order ack only when the head is acknowledged too', () => {
  const q = new AckQueue<string>(8);
  q.push('a');
  q.push('b');
  q.push('c');
  const a = q.takeNext()!,
    b = q.takeNext()!;
  q.ack(b);
  assert.is(q.length, 3, 'b waits behind unacknowledged a');
  q.ack(a);
  assert.is(q.length, 1);
  assert.is(q.takeNext()!.value, 'c');
});

test('AckQueue rewind resends unacknowledged items from the head, skipping acknowledged ones', () => {
  const q = new AckQueue<number>(8);
  for (let i = 1; i <= 4; i++) q.push(i);
  q.takeNext();
  const second = q.takeNext()!;
  q.takeNext();
  q.ack(second);
  q.rewind();
  const again: number[] = [];
  for (let it = q.takeNext(); it; it = q.takeNext()) again.push(it.value);
  assert.equal(again, [1, 3, 4]);
});

test('AckQueue drops the oldest when full and counts each drop', () => {
  const q = new AckQueue<number>(3);
  for (let i = 1; i <= 7; i++) q.push(i);
  assert.is(q.length, 3);
  assert.is(q.droppedCount, 4);
  assert.equal(values(q), [5, 6, 7]);
});

test('AckQueue ignores a late ack for an item that was dropped while in flight', () => {
  const q = new AckQueue<number>(2);
  q.push(1);
  q.push(2);
  const one = q.takeNext()!;
  q.push(3); // drops 1, which was on the wire
  assert.is(q.sentCount, 0, 'the cursor moved back with the dropped head');
  q.ack(one);
  assert.is(q.length, 2);
  assert.equal(values(q), [2, 3]);
});

test('AckQueue push, take and ack stay O(1): 200 000 operations on a full queue finish quickly', () => {
  const q = new AckQueue<number>(50_000);
  const t0 = performance.now();
  for (let i = 0; i < 200_000; i++) q.push(i);
  for (let it = q.takeNext(); it; it = q.takeNext()) q.ack(it);
  const ms = performance.now() - t0;
  console.log(`  AckQueue: 200k pushes + 50k take/ack in ${ms.toFixed(1)} ms`);
  assert.is(q.length, 0);
  assert.is(q.droppedCount, 150_000);
});

test('AckQueue refuses a capacity below 1', () => {
  assert.throws(() => new AckQueue(0), /positive integer/);
});

test('backoffDelayMs is full jitter under a doubling ceiling capped at maxMs', () => {
  assert.is(
    backoffDelayMs(0, 1000, 60_000, () => 0.999999),
    999,
  );
  assert.is(
    backoffDelayMs(3, 1000, 60_000, () => 0.5),
    4000,
  ); // ceiling 8000
  assert.is(
    backoffDelayMs(10, 1000, 60_000, () => 0.5),
    30_000,
  ); // ceiling capped at 60 000
  assert.is(
    backoffDelayMs(500, 1000, 60_000, () => 0.5),
    30_000,
  ); // no overflow for huge attempts
  assert.is(
    backoffDelayMs(4, 1000, 60_000, () => 0),
    0,
  );
});

test('backoffDelayMs with the real random source stays inside [0, ceiling)', () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(attempt, 100, 5_000);
      assert.ok(d >= 0 && d < Math.min(5_000, 100 * 2 ** attempt), `attempt ${attempt}: ${d}`);
    }
  }
});

test.run();
