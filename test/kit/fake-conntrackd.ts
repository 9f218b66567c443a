// A stand-in conntrackd for the engine's state sync tests: control calls wait until the test
// finishes them (so their order and overlap can be checked), `-s` answers at once with a report
// in conntrackd's format, and the "daemon" exits when the test says so.
import * as assert from 'uvu/assert';
import type { ChildExit, ConntrackdDriver, ControlResult } from '../../drivers/conntrackd.ts';

const stats = (external: number, recv: number) => `cache internal:
current active connections:	           3

cache external:
current active connections:	           ${external}

UDP traffic (active device=sync0):
                  64 Pckts sent                   ${recv} Pckts recv
                   0 Error send                    0 Error recv

message tracking:
                   0 Malformed msgs                    0 Lost msgs
`;

export class FakeConntrackd implements ConntrackdDriver {
  calls: string[] = [];
  pending: { args: string; resolve: (r: ControlResult) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  external = 0;
  recv = 10;
  up = true;
  onExit: ((e: ChildExit) => void) | undefined;
  starts = 0;
  conf = '';
  writeConf(_p: string, text: string) {
    this.conf = text;
  }
  control(_bin: string, _conf: string, args: readonly string[]): Promise<ControlResult> {
    const a = args.join(' ');
    if (a === '-s') {
      this.recv += 1;
      return Promise.resolve(
        this.up
          ? { ok: true, code: 0, stdout: stats(this.external, this.recv), timedOut: false, ms: 1 }
          : { ok: false, code: 1, stdout: '', error: "can't connect", timedOut: false, ms: 1 },
      );
    }
    this.calls.push(a);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) =>
      this.pending.push({
        args: a,
        resolve: (r) => {
          this.inFlight--;
          resolve(r);
        },
      }),
    );
  }
  start(_b: string, _c: string, _l: string, onExit: (e: ChildExit) => void) {
    this.starts++;
    this.onExit = onExit;
    return { pid: 4242, stop: async () => {} };
  }
  /** Complete the oldest pending control call. */
  async finish(ok = true) {
    const p = this.pending.shift();
    assert.ok(p, 'a control call is pending');
    p!.resolve({ ok, code: ok ? 0 : 1, stdout: '', ...(ok ? {} : { error: 'boom' }), timedOut: false, ms: 1 });
    await tick();
  }
}

export const tick = () => new Promise((r) => setTimeout(r, 5));
