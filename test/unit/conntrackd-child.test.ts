// The supervised conntrackd child: restart backoff (1 s, doubling; back to 1 s after a 60 s run)
// and no restart once stopped, on a stand-in driver whose child exits when the test says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildExit, ConntrackdDriver } from '../../drivers/conntrackd.ts';
import { RESTART_MIN_MS, SupervisedConntrackd } from '../../firmware/engine/conntrackd-child.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EXIT: ChildExit = { code: 1, signal: null, stderr: 'gone' };

function rig() {
  let clock = 0;
  let pid = 100;
  const exits: ((e: ChildExit) => void)[] = [];
  const driver: ConntrackdDriver = {
    writeConf() {},
    control: async () => ({ ok: true, stdout: '', code: 0, timedOut: false, ms: 0 }),
    start(_bin, _conf, _lock, onExit) {
      exits.push(onExit);
      return { pid: ++pid, stop: async () => {} };
    },
  };
  const delays: number[] = [];
  const restarts: [number | undefined, number][] = [];
  const child = new SupervisedConntrackd(driver, 'conntrackd', '/c', '/l', {
    now: () => clock,
    exited: (_e, _ran, inMs) => delays.push(inMs),
    restarted: (p, n) => restarts.push([p, n]),
  });
  return { child, exits, delays, restarts, advance: (ms: number) => (clock += ms) };
}

test('backoff doubles after a short run, and a restart reports the new pid and count', async () => {
  const r = rig();
  r.child.start();
  assert.is(r.child.pid, 101);
  r.exits[0](EXIT);
  assert.not.ok(r.child.running, 'down between the exit and the restart');
  assert.equal(r.delays, [RESTART_MIN_MS]);
  await sleep(RESTART_MIN_MS + 150);
  assert.equal(r.restarts, [[102, 1]]);
  assert.is(r.child.pid, 102);
  r.exits[1](EXIT); // ran 0 ms: the next wait doubles
  assert.equal(r.delays, [RESTART_MIN_MS, 2 * RESTART_MIN_MS]);
  await r.child.stop();
  await sleep(2 * RESTART_MIN_MS + 150);
  assert.equal(r.restarts.length, 1, 'stop() cancels the pending restart');
});

test('a run of 60 s or more resets the backoff; an exit after stop() starts nothing', async () => {
  const r = rig();
  r.child.start();
  r.exits[0](EXIT);
  await sleep(RESTART_MIN_MS + 150);
  r.advance(60_000);
  r.exits[1](EXIT);
  assert.equal(r.delays, [RESTART_MIN_MS, RESTART_MIN_MS]);
  await sleep(RESTART_MIN_MS + 150);
  await r.child.stop();
  r.exits[2](EXIT); // the stopped child's exit arrives late
  assert.equal(r.delays.length, 2, 'no exit report after stop()');
  assert.is(r.exits.length, 3, 'no start after stop()');
});

test.run();
