// `tandem import` end to end: a keepalived pair's configuration (the lab's own keepalived.conf,
// as lab/peers.ts writes it) is imported for one router with the built CLI, passes `tandem check`,
// and the tandem daemon running the imported file interoperates with keepalived 2.2.7 still
// running the other router's original file: election, silent failure of the master, its return,
// multicast and unicast_peer, tandem in either role. Needs root and dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { withLab, startKeepalived, keepalivedConf, waitFor } from '../kit/lab.ts';
import type { Lab, LabHost, PeerHandle, VrrpPeerOptions } from '../kit/lab.ts';
import { startTandem, stopAll, stateOf, TANDEM_BIN } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';
import { nodeCommand } from '../../firmware/runtime/node-flags.ts';

const VIP = '192.0.2.1';
const VRID = 42;
const ADVERT_MS = 100;
// RFC 5798 6.1: Master_Down_Interval = 3 x 100 ms + Skew_Time < 400 ms; a loaded 2-core machine
// gets a wide margin (this test is about the configuration, the timing tests are elsewhere).
const TAKEOVER_MS = 5_000;
const SETTLE_MS = 10_000;

function tandemCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const [node, ...rest] = nodeCommand(TANDEM_BIN, []);
  try {
    const stdout = execFileSync(node, [...rest, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Writes `host`'s keepalived.conf, imports it with the CLI, checks it, and starts tandem on it. */
async function tandemFromKeepalived(
  lab: Lab,
  host: LabHost,
  o: VrrpPeerOptions,
  dir: string,
): Promise<{ t: TandemHandle; imported: Record<string, unknown>; notes: string }> {
  const notify = join(dir, 'notify.sh');
  writeFileSync(notify, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, keepalivedConf(o, { routerId: host.ns, notify }));
  const out = join(dir, 'tandem.yaml');
  const imp = tandemCli(['import', '-o', out, conf]);
  assert.is(imp.code, 0, `tandem import failed: ${imp.stderr}`);
  const check = tandemCli(['check', '--config', out]);
  assert.is(check.code, 0, `the imported file fails tandem check: ${check.stderr}\n${readFileSync(out, 'utf8')}`);
  const imported = parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  // startTandem supplies node, state_dir and the control socket (private per test run).
  const t = await startTandem(lab, host, stringify({ instances: imported.instances }));
  return { t, imported, notes: imp.stderr };
}

async function hasVip(lab: Lab, h: LabHost): Promise<boolean> {
  const j = JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'addr', 'show', 'dev', h.ifname])).stdout);
  return j[0].addr_info.some((a: { local: string }) => a.local === VIP);
}

async function tandemState(t: TandemHandle): Promise<string> {
  try {
    return (stateOf(await t.status(), `VI_${VRID}`) ?? 'unknown').toUpperCase();
  } catch {
    return 'unknown';
  }
}

async function expectStates(
  lab: Lab,
  t: TandemHandle,
  k: PeerHandle,
  want: { tandem: string; keepalived: string },
  timeoutMs: number,
  step: string,
  master?: LabHost,
): Promise<void> {
  const ok = await waitFor(
    async () =>
      (await tandemState(t)) === want.tandem &&
      (await k.state()) === want.keepalived &&
      (master === undefined || (await hasVip(lab, master))),
    timeoutMs,
    20,
  );
  if (!ok)
    assert.unreachable(
      `${step}: wanted tandem=${want.tandem} keepalived=${want.keepalived}; have tandem=${await tandemState(t)} ` +
        `keepalived=${await k.state()}\n${t.output().slice(-1500)}\n---\n${k.log().slice(-1500)}`,
    );
}

for (const mode of ['multicast', 'unicast'] as const) {
  for (const tandemHigh of [true, false]) {
    const title = `${mode}: tandem on the imported file (${tandemHigh ? 200 : 100}) and keepalived on the original (${tandemHigh ? 100 : 200}) elect, fail over and return`;
    test(title, async () => {
      await withLab({ routers: 2, clients: 0 }, async (lab) => {
        const [r1, r2] = lab.routers;
        const dir = mkdtempSync(join(tmpdir(), 'tandem-import-'));
        let t: TandemHandle | undefined;
        let k: PeerHandle | undefined;
        try {
          const base = { vrid: VRID, version: 3 as const, advertIntervalMs: ADVERT_MS, addresses: [VIP] };
          const opts = (me: LabHost, peer: LabHost, priority: number): VrrpPeerOptions => ({
            ...base,
            ifname: me.ifname,
            priority,
            ...(mode === 'unicast' ? { unicastSrc: me.ipv4, unicastPeers: [peer.ipv4] } : {}),
          });
          const started = await tandemFromKeepalived(lab, r1, opts(r1, r2, tandemHigh ? 200 : 100), dir);
          t = started.t;
          const inst = (started.imported.instances as Record<string, unknown>[])[0];
          assert.equal(
            [inst.vrid, inst.version, inst.priority, inst.advert_interval, inst.addresses],
            [VRID, 3, tandemHigh ? 200 : 100, '100ms', [`${VIP}/24`]],
          );
          if (mode === 'unicast') assert.equal([inst.source_address, inst.unicast_peers], [r1.ipv4, [r2.ipv4]]);
          k = await startKeepalived(lab, r2.ns, opts(r2, r1, tandemHigh ? 100 : 200));

          const hi = tandemHigh
            ? { tandem: 'MASTER', keepalived: 'BACKUP' }
            : { tandem: 'BACKUP', keepalived: 'MASTER' };
          const both = { tandem: 'MASTER', keepalived: 'MASTER' };
          const [hiHost, loHost] = tandemHigh ? [r1, r2] : [r2, r1];
          await expectStates(lab, t, k, hi, SETTLE_MS, 'election', hiHost);
          await lab.linkDown(hiHost);
          // the cut-off master stays master on its own; the other side takes over
          await expectStates(lab, t, k, both, TAKEOVER_MS, 'silent failure of the master', loHost);
          await lab.linkUp(hiHost);
          await expectStates(lab, t, k, hi, TAKEOVER_MS, 'the master returns', hiHost);
          const st = (await t.status()).instances[0];
          assert.equal(st.counters.drops, {}, 'tandem dropped none of keepalived adverts');
          if (!tandemHigh) assert.ok(st.counters.advertsReceived > 0);
        } finally {
          await k?.stop().catch(() => {});
          await stopAll([t]);
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
}

test.run();
