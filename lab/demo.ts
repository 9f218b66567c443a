// The failover demo behind `tandem lab`: a switch, N appliances and a client in namespaces, a
// tandem daemon per appliance (or keepalived/FRR for the last one), an MQTT broker for their
// telemetry, a 1 ms ICMP prober on the client, and a scripted scenario whose every step is
// measured: election, silent failure of the master, preemption back, graceful handoff, restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './netns.ts';
import { createLab, waitFor } from './netns.ts';
import { startProber, windowOutage } from './prober.ts';
import type { Prober } from './prober.ts';
import { tandemAppliance, peerAppliance, carpAdvskew } from './appliance.ts';
import type { Appliance, ApplianceView, TelemetrySetup } from './appliance.ts';
import { startEmbeddedBroker, connectExternalBroker } from './broker.ts';
import type { LabBroker, LabMessage } from './broker.ts';
import { Screen, renderFrame, renderSummary, mastersOf } from './display.ts';
import type { DisplayModel, RouterLine } from './display.ts';
import { newLabName, writeRecord, removeRecord } from './registry.ts';

export const LAB_VIP = '192.0.2.254';
export const LAB_VRID = 51;
/** Priorities of appliance 1, 2, 3...: the first is the preferred master. */
export const LAB_PRIORITIES = [200, 150, 100, 90, 80] as const;
export const LAB_MAX_ROUTERS = LAB_PRIORITIES.length;

export type StepName = 'election' | 'failover' | 'preemption' | 'handoff' | 'restart';

export interface StepResult {
  step: StepName;
  /** What the step does, in words. */
  action: string;
  expected: string;
  observed: string;
  ok: boolean;
  /** Who is master at the end of the step (null: none, or more than one). */
  master: string | null;
  /** From the action until the expected state was seen (polling granularity about 20 ms). */
  tookMs: number | null;
  /** The client's longest gap in replies from the VIP during the step; null: no loss. */
  outageMs: number | null;
  lostPackets: number;
  /** The model's expectation for the outage (RFC 5798 6.1 timers), for comparison. */
  expectedOutageMs: number | null;
  /** A longer outage fails the step. */
  outageBudgetMs: number | null;
  /** Whose MAC the client's ARP entry for the VIP held one advert interval after the expected
   *  state was reached (router name, a MAC, or null). */
  clientArp: string | null;
}

export interface TelemetryEventSeen {
  atMs: number;
  node: string;
  instance: string;
  from: string;
  to: string;
  reason: string;
}

export interface DemoSummary {
  lab: string;
  vip: string;
  vrid: number;
  advertMs: number;
  routers: { name: string; ns: string; kind: string; priority: number; ipv4: string }[];
  client: { ns: string; ipv4: string };
  steps: StepResult[];
  ok: boolean;
  telemetry: { broker: 'embedded' | 'external'; url: string; messages: number; events: TelemetryEventSeen[] };
  kept: boolean;
}

export interface DemoOptions {
  advertMs: number;
  routers: number;
  /** Run the last appliance as keepalived, FRR or ucarp instead of tandem (ucarp: all speak CARP). */
  peer: 'keepalived' | 'frr' | 'ucarp' | null;
  /** An external broker URL for the daemons and the display; null: the embedded aedes. */
  mqttUrl: string | null;
  keep: boolean;
  json: boolean;
  /** Where progress goes (stdout, or stderr with --json so stdout is only the summary). */
  progress: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where the summary goes. */
  out: NodeJS.WritableStream;
}

/** RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256, in ms here. */
export function skewTimeMs(priority: number, advertMs: number): number {
  return ((256 - priority) * advertMs) / 256;
}

/** RFC 5798 6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time. */
export function masterDownIntervalMs(priority: number, advertMs: number): number {
  return 3 * advertMs + skewTimeMs(priority, advertMs);
}

/** CARP (ip_carp.c carp_setrun): a backup declares the master down 3 x advbase + its own
 *  advskew/256 s after the last advert; the lab's advskew is 255 - priority. */
export function carpMasterDownMs(priority: number, advertMs: number): number {
  return 3 * advertMs + (carpAdvskew(priority) * 1000) / 256;
}

/** The passphrase the lab's CARP appliances share. */
const LAB_CARP_PASSPHRASE = 'tandem-lab';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Aborted extends Error {}

/**
 * Run the demo. Resolves with the exit code (0: every step as expected). Everything it creates
 * is torn down before it resolves, and on SIGINT/SIGTERM (then the process exits 130/143).
 */
export async function runDemo(o: DemoOptions): Promise<number> {
  const tty = Boolean(o.progress.isTTY);
  const screen = new Screen(o.progress, tty);
  const name = newLabName();
  const dir = mkdtempSync(join(tmpdir(), `tandem-lab-${name}-`));
  const logLines: string[] = [];
  const events: TelemetryEventSeen[] = [];
  let mqttMessages = 0;
  let lab: Lab | undefined;
  let broker: LabBroker | undefined;
  let prober: Prober | undefined;
  let appliances: Appliance[] = [];
  let lastViews: ApplianceView[] = [];
  let step = '';
  let monitorOn = false;
  let monitorLoop: Promise<void> = Promise.resolve();
  let aborted: NodeJS.Signals | null = null;

  const say = (s: string, atMs = Date.now()) => {
    const line = `${screen.stamp(atMs)} ${s}`;
    logLines.push(line);
    if (logLines.length > 200) logLines.splice(0, 100);
    screen.line(line);
  };

  // ---- teardown, exactly once, from the normal path, an error or a signal ----
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      monitorOn = false;
      await monitorLoop.catch(() => undefined);
      await prober?.stop().catch(() => undefined);
      // Peers first: their stop() also removes what they made outside the processes (FRR's macvlan, dirs).
      await Promise.all(appliances.filter((a) => a.kind !== 'tandem').map((a) => a.stop().catch(() => undefined)));
      await lab?.destroy().catch(() => undefined); // kills the daemons with their namespaces
      await broker?.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      removeRecord(name);
    })());
  const onExit = () => {
    rmSync(dir, { recursive: true, force: true });
    removeRecord(name);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (aborted) process.exit(1); // a second Ctrl-C: the exit hooks still delete the namespaces
    aborted = sig;
    screen.print(`\n${sig}: tearing the lab down`);
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('exit', onExit);
  const check = () => {
    if (aborted) throw new Aborted(aborted);
  };

  try {
    writeRecord({ name, pid: process.pid, dir, startedAt: new Date().toISOString() });
    say(`building lab ${name}: switch, ${o.routers} appliances, 1 client`);
    lab = await createLab({ routers: o.routers, clients: 1, prefix: name });
    check();
    const client = lab.clients[0];

    // ---- MQTT ----
    const topicPrefix = `tandem/${name}`;
    broker = o.mqttUrl
      ? await connectExternalBroker(o.mqttUrl, topicPrefix)
      : await startEmbeddedBroker(join(dir, 'mqtt.sock'));
    broker.onMessage((m: LabMessage) => {
      mqttMessages++;
      const parts = m.topic.split('/');
      if (parts[parts.length - 1] !== 'events') return;
      try {
        const e = JSON.parse(m.payload.toString()) as Record<string, unknown>;
        const ev = {
          atMs: m.atMs,
          node: String(e.node),
          instance: String(e.instance),
          from: String(e.from),
          to: String(e.to),
          reason: String(e.reason),
        };
        events.push(ev);
        say(`mqtt ${m.topic}: ${ev.instance} ${ev.from} -> ${ev.to} (${ev.reason})`, m.atMs);
      } catch {
        /* not JSON: counted only */
      }
    });
    const telemetry: TelemetrySetup = { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix };

    // ---- appliances ----
    const carp = o.peer === 'ucarp';
    appliances = lab.routers.map((host, i) => {
      const common = {
        name: `r${i + 1}`,
        priority: LAB_PRIORITIES[i],
        vrid: LAB_VRID,
        advertMs: o.advertMs,
        vip: LAB_VIP,
        ...(carp ? { carp: { passphrase: LAB_CARP_PASSPHRASE } } : {}),
      };
      if (o.peer && i === lab!.routers.length - 1) return peerAppliance(lab!, host, o.peer, common);
      // A keepalived or FRR backup that loses a split brain steps down without a word, so a tandem
      // master that was isolated never learns that clients point elsewhere: a periodic
      // re-announcement bounds that (see docs/interop.md). tandem peers need none.
      const garpRefreshMs = o.peer ? Math.max(1000, 5 * o.advertMs) : undefined;
      return tandemAppliance(lab!, host, { ...common, dir: join(dir, common.name), telemetry, garpRefreshMs });
    });
    const A = o.advertMs;
    const macs = new Map<string, string>();
    for (const h of lab.routers) {
      const j = JSON.parse(
        (await lab.exec(null, ['ip', '-n', h.ns, '-j', 'link', 'show', 'dev', h.ifname])).stdout,
      ) as { address?: string }[];
      if (j[0]?.address) macs.set(j[0].address.toLowerCase(), `r${h.index}`);
    }
    /** Whose MAC the client would send to for the VIP now: a router's name, or the raw MAC. */
    const clientArp = async (): Promise<string | null> => {
      const r = await lab!.exec(client.ns, ['ip', '-j', 'neigh', 'show', LAB_VIP], { allowFail: true });
      try {
        const mac = ((JSON.parse(r.stdout) as { lladdr?: string }[])[0]?.lladdr ?? '').toLowerCase();
        return mac ? (macs.get(mac) ?? mac) : null;
      } catch {
        return null;
      }
    };
    const proto = carp ? `CARP VHID ${LAB_VRID} (advskew 255 - priority)` : `VRRPv3 VRID ${LAB_VRID}`;
    const title = `tandem lab ${name}: ${proto}, VIP ${LAB_VIP}/24, advert ${A} ms, ${o.mqttUrl ? `broker ${o.mqttUrl}` : 'embedded MQTT broker'}`;

    // ---- the live display: poll every appliance's state; TTY redraw, else one line per change ----
    const poll = async () => Promise.all(appliances.map((a) => a.view()));
    const model = (views: ApplianceView[]): DisplayModel => {
      const last = prober?.lastReplyMs() ?? null;
      const downFor = last === null ? null : Date.now() - last;
      return {
        title,
        routers: appliances.map(
          (a, i): RouterLine => ({
            name: a.name,
            ns: a.host.ns,
            kind: a.kind,
            state: views[i]?.state ?? 'unknown',
            priority: a.priority,
            effectivePriority: views[i]?.effectivePriority ?? null,
          }),
        ),
        client: {
          ns: client.ns,
          vip: LAB_VIP,
          reachable: prober ? downFor !== null && downFor < 50 : null,
          downForMs: downFor,
          replies: prober?.received() ?? 0,
        },
        step,
        log: logLines,
        mqttMessages: mqttMessages,
      };
    };
    let clientWasUp: boolean | null = null;
    let lastReplyBeforeGap = 0;
    const seenState: ApplianceView['state'][] = [];
    const observe = (polled: ApplianceView[]) => {
      // A daemon whose control socket does not answer for a moment (starting, stopping) keeps
      // the last state it reported, rather than flickering to "unknown".
      const views = polled.map((v, i) => (v.state === 'unknown' && seenState[i] ? { ...v, state: seenState[i] } : v));
      views.forEach((v, i) => {
        const before = lastViews[i]?.state;
        if (v.state !== 'unknown') seenState[i] = v.state;
        if (before !== undefined && before !== v.state && v.state !== 'unknown') {
          say(`${appliances[i].name} (${appliances[i].kind}) ${before} -> ${v.state}`);
        }
      });
      const before = mastersOf(model(lastViews).routers).join('+');
      const now = mastersOf(model(views).routers).join('+');
      if (lastViews.length && before !== now) say(`master: ${now || 'none'}`);
      lastViews = views;
      if (prober) {
        const last = prober.lastReplyMs();
        const up = last !== null && Date.now() - last < 50;
        if (clientWasUp === true && !up && last !== null) {
          lastReplyBeforeGap = last;
          say('client: no reply from the VIP', last);
        }
        if (clientWasUp === false && up && last !== null) {
          say(
            lastReplyBeforeGap
              ? `client: replies again (gap ${Math.round(last - lastReplyBeforeGap)} ms)`
              : 'client: the VIP answers',
            last,
          );
        }
        clientWasUp = up;
      } else clientWasUp = null;
      screen.draw(renderFrame(model(views), { color: tty }));
    };
    const startMonitor = () => {
      monitorOn = true;
      monitorLoop = (async () => {
        while (monitorOn) {
          observe(await poll());
          await sleep(tty ? 100 : 20);
        }
      })();
    };

    const views = async () => {
      const v = await poll();
      return v;
    };
    const waitViews = async (pred: (v: ApplianceView[]) => boolean, timeoutMs: number) => {
      let last: ApplianceView[] = [];
      const ok = await waitFor(
        async () => {
          check();
          last = await views();
          return pred(last);
        },
        timeoutMs,
        20,
      );
      return { ok, views: last };
    };
    const stateOf = (v: ApplianceView[], i: number) => v[i]?.state ?? 'unknown';
    const onlyMaster = (v: ApplianceView[], i: number) =>
      v.every((x, j) => (j === i ? x.state === 'master' : x.state === 'backup'));
    const masterName = (v: ApplianceView[]) => {
      const m = v.flatMap((x, i) => (x.state === 'master' ? [appliances[i].name] : []));
      return m.length === 1 ? m[0] : null;
    };
    const describe = (v: ApplianceView[]) =>
      appliances.map((a, i) => `${a.name} ${stateOf(v, i).toUpperCase()}`).join(', ');

    startMonitor();
    const steps: StepResult[] = [];
    const r1 = appliances[0];
    const r2 = appliances[1];
    const p1 = LAB_PRIORITIES[0];
    const p2 = LAB_PRIORITIES[1];
    const settleMs = Math.max(500, 3 * A);
    const downMs = carp ? carpMasterDownMs(p2, A) : masterDownIntervalMs(p2, A);
    // Generous for a busy 2-core machine: a failover may take up to two Master_Down_Intervals, a
    // handover (preempt, handoff, restart) should lose next to nothing.
    const failBudget = Math.round(2 * downMs + 500);
    const handBudget = Math.round(downMs + 500);
    const transitionTimeoutMs = 20 * A + 5000;

    /** After the expected state: wait for the client's replies, let late effects show, measure. */
    // A client whose ARP entry still names a router that gave the VIP up re-resolves only when
    // the entry goes stale (seconds): wait that long, so the table shows the real outage.
    const recoverMs = 15_000;
    const finishStep = async (t0: number, budgetMs: number): Promise<StepMeasure> => {
      const tState = Date.now();
      // One interval after the new state, the gratuitous ARPs have gone out: who does the client
      // believe holds the VIP? (After a long outage the answer explains it.)
      await sleep(A);
      const arp = await clientArp();
      const recovered = await waitFor(
        () => {
          check();
          const l = prober!.lastReplyMs();
          return l !== null && l > tState && Date.now() - l < 20;
        },
        recoverMs,
        5,
      );
      await sleep(settleMs);
      check();
      const gap = windowOutage(prober!.replies(), t0 - 20, Date.now(), 2);
      const outageMs = gap ? Math.round(gap.lengthMs) : null;
      return {
        outageMs,
        lostPackets: gap?.lostPackets ?? 0,
        recovered: recovered && (gap?.recovered ?? true),
        withinBudget: (outageMs ?? 0) <= budgetMs,
        outageBudgetMs: budgetMs,
        clientArp: arp,
      };
    };

    // 1. election
    step = `1/5 election: starting ${appliances.map((a) => `${a.name} (${a.kind}, priority ${a.priority})`).join(', ')}`;
    say(step);
    let t0 = Date.now();
    await Promise.all(appliances.map((a) => a.start()));
    check();
    let w = await waitViews((v) => onlyMaster(v, 0), transitionTimeoutMs + 5000);
    steps.push({
      step: 'election',
      action: 'start every appliance at once',
      outageBudgetMs: null,
      clientArp: null,
      expected: `r1 MASTER (highest priority ${p1}), the rest BACKUP`,
      observed: `${describe(w.views)} after ${Date.now() - t0} ms`,
      ok: w.ok,
      master: masterName(w.views),
      tookMs: w.ok ? Date.now() - t0 : null,
      outageMs: null,
      lostPackets: 0,
      expectedOutageMs: null,
    });
    say(`election: ${steps[0].observed}`);
    if (!w.ok) throw new StepFailed(steps[0]);

    // The client probes the VIP from here on.
    prober = startProber(lab, client.ns, LAB_VIP);
    await prober.ready;
    if (
      !(await waitFor(() => {
        check();
        return prober!.received() >= 200;
      }, 10_000))
    ) {
      throw new Error(`the client ${client.ns} cannot reach ${LAB_VIP} (r1 is master)`);
    }

    // 2. failover on a silent failure
    // The backup's timer started at the last advert it heard, up to one interval before the failure.
    const expFail = Math.round(downMs);
    const expFailLo = Math.round(expFail - A);
    step = `2/5 failover: r1's switch port stops forwarding (silent failure: no carrier loss, r1 does not know)`;
    say(step);
    t0 = Date.now();
    await lab.linkDown(r1.host);
    w = await waitViews((v) => stateOf(v, 1) === 'master', transitionTimeoutMs);
    let took = Date.now() - t0;
    let m = await finishStep(t0, failBudget);
    steps.push({
      step: 'failover',
      action: 'r1 link down (bridge port disabled)',
      expected: `r2 MASTER ${expFailLo}-${expFail} ms later (${carp ? '3 x advbase + advskew/256 s' : '3 x advert + skew'})`,
      observed:
        (w.ok ? `r2 MASTER after ${took} ms (r1 still thinks it is master)` : `no takeover: ${describe(w.views)}`) +
        arpHint(m, r2.name),
      ok: w.ok && m.recovered && m.outageMs !== null && m.withinBudget,
      master: r2.name,
      tookMs: w.ok ? took : null,
      ...pick(m),
      expectedOutageMs: expFail,
    });
    say(`failover: ${steps[1].observed}; client outage ${fmtOutage(m)}`);

    // 3. preemption: r1 comes back
    step = "3/5 preemption: r1's port forwards again; r1 hears a lower-priority master and takes back over";
    say(step);
    t0 = Date.now();
    await lab.linkUp(r1.host);
    w = await waitViews((v) => onlyMaster(v, 0), transitionTimeoutMs);
    took = Date.now() - t0;
    m = await finishStep(t0, handBudget);
    steps.push({
      step: 'preemption',
      action: 'r1 link up',
      expected: 'r1 MASTER (preempt), r2 BACKUP; little or no loss',
      observed:
        (w.ok ? `${describe(w.views)} after ${took} ms` : `not preempted: ${describe(w.views)}`) +
        arpHint(m, masterName(w.views)),
      ok: w.ok && m.recovered && m.withinBudget,
      master: masterName(w.views),
      tookMs: w.ok ? took : null,
      ...pick(m),
      expectedOutageMs: 0,
    });
    say(`preemption: ${steps[2].observed}; client outage ${fmtOutage(m)}`);

    // 4. graceful handoff: SIGTERM the master
    // CARP: the stopping master's last advert (advbase/advskew 255) makes the backup take over at once.
    const expHand = carp ? 0 : Math.round(skewTimeMs(p2, A));
    step = carp
      ? `4/5 handoff: SIGTERM to r1 (${r1.kind}): its last advert (advbase/advskew 255) hands over at once`
      : `4/5 handoff: SIGTERM to r1 (${r1.kind}): it sends priority 0, r2 takes over after its skew time`;
    say(step);
    t0 = Date.now();
    const stopping = r1.stop();
    w = await waitViews((v) => stateOf(v, 1) === 'master', transitionTimeoutMs);
    took = Date.now() - t0;
    await stopping;
    m = await finishStep(t0, handBudget);
    steps.push({
      step: 'handoff',
      action: 'SIGTERM r1',
      expected: carp
        ? 'r2 MASTER well inside its master-down interval (last advert, advbase/advskew 255; ucarp reads it up to 1 s late)'
        : `r2 MASTER after ~${expHand} ms (priority 0 advert, skew time)`,
      observed:
        (w.ok
          ? `r2 MASTER after ${took} ms, r1 ${r1.running() ? 'still running' : 'exited'}`
          : `no takeover: ${describe(w.views)}`) + arpHint(m, masterName(w.views)),
      ok: w.ok && !r1.running() && m.recovered && m.withinBudget,
      master: masterName(w.views),
      tookMs: w.ok ? took : null,
      ...pick(m),
      expectedOutageMs: expHand,
    });
    say(`handoff: ${steps[3].observed}; client outage ${fmtOutage(m)}`);

    // 5. restart: r1 comes back and preempts
    step = '5/5 restart: r1 starts again and takes back over';
    say(step);
    t0 = Date.now();
    await r1.start();
    w = await waitViews((v) => onlyMaster(v, 0), transitionTimeoutMs);
    took = Date.now() - t0;
    m = await finishStep(t0, handBudget);
    steps.push({
      step: 'restart',
      action: 'start r1 again',
      expected: 'r1 MASTER (preempt), r2 BACKUP; little or no loss',
      observed:
        (w.ok ? `${describe(w.views)} after ${took} ms` : `not preempted: ${describe(w.views)}`) +
        arpHint(m, masterName(w.views)),
      ok: w.ok && m.recovered && m.withinBudget,
      master: masterName(w.views),
      tookMs: w.ok ? took : null,
      ...pick(m),
      expectedOutageMs: 0,
    });
    say(`restart: ${steps[4].observed}; client outage ${fmtOutage(m)}`);
    step = '';

    // ---- summary ----
    const summary: DemoSummary = {
      lab: name,
      vip: LAB_VIP,
      vrid: LAB_VRID,
      advertMs: A,
      routers: appliances.map((a) => ({
        name: a.name,
        ns: a.host.ns,
        kind: a.kind,
        priority: a.priority,
        ipv4: a.host.ipv4,
      })),
      client: { ns: client.ns, ipv4: client.ipv4 },
      steps,
      ok: steps.every((s) => s.ok),
      telemetry: { broker: o.mqttUrl ? 'external' : 'embedded', url: broker.url, messages: mqttMessages, events },
      kept: o.keep,
    };
    const table = renderSummary(
      steps.map((s) => ({ step: s.step, expected: s.expected, observed: s.observed, outageMs: s.outageMs, ok: s.ok })),
    );
    if (o.json) {
      screen.print(['', ...table].join('\n'));
      o.out.write(`${JSON.stringify(summary)}\n`);
    } else {
      screen.print(
        [
          '',
          ...table,
          '',
          `telemetry: ${mqttMessages} MQTT messages, ${events.length} state events`,
          summary.ok ? 'every step as expected' : 'SOME STEPS FAILED',
        ].join('\n'),
      );
    }

    if (o.keep) {
      // The 1 ms prober is heavy; 10 ms keeps the display honest while someone explores.
      await prober.stop().catch(() => undefined);
      prober = startProber(lab, client.ns, LAB_VIP, { intervalMs: 10 });
      screen.print(
        keepInstructions(
          summary,
          appliances.map((a) => (a.kind === 'tandem' ? join(dir, a.name, 'tandem.sock') : null)),
          o.mqttUrl ? null : join(dir, 'mqtt.sock'),
        ),
      );
      step = 'kept running: Ctrl-C here or `./build.sh lab down` to remove it';
      await new Promise<never>(() => {
        /* until a signal; onSignal tears down and exits */
      });
    }
    return summary.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof Aborted) return 130;
    if (e instanceof StepFailed) {
      screen.print(`\nstep ${e.step.step} failed: ${e.step.observed}`);
      for (const a of appliances)
        if (a.log()) screen.print(`--- ${a.name} (${a.kind}) log tail ---\n${a.log().slice(-1500)}`);
      if (o.json) o.out.write(`${JSON.stringify({ lab: name, ok: false, steps: [e.step] })}\n`);
      return 1;
    }
    screen.print(`\ntandem lab: ${(e as Error).message}`);
    if (o.json) o.out.write(`${JSON.stringify({ lab: name, ok: false, error: (e as Error).message })}\n`);
    return 1;
  } finally {
    if (!aborted) {
      if (!o.json) screen.print(`tearing down lab ${name}`);
      await cleanup();
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('exit', onExit);
    } else {
      // onSignal owns the teardown and the exit; wait for it rather than racing it.
      await new Promise<never>(() => {
        /* process.exit comes from onSignal */
      });
    }
  }
}

class StepFailed extends Error {
  constructor(readonly step: StepResult) {
    super(`${step.step}: ${step.observed}`);
  }
}

interface StepMeasure {
  outageMs: number | null;
  lostPackets: number;
  recovered: boolean;
  withinBudget: boolean;
  outageBudgetMs: number;
  clientArp: string | null;
}

function pick(m: StepMeasure): Pick<StepResult, 'outageMs' | 'lostPackets' | 'outageBudgetMs' | 'clientArp'> {
  return { outageMs: m.outageMs, lostPackets: m.lostPackets, outageBudgetMs: m.outageBudgetMs, clientArp: m.clientArp };
}

/** Appended to a step's observation when the client lost the VIP for longer than the budget. */
function arpHint(m: StepMeasure, master: string | null): string {
  if (m.withinBudget && m.recovered) return '';
  return m.clientArp && m.clientArp !== master ? `; client's ARP still said ${m.clientArp}` : '; client lost the VIP';
}

function fmtOutage(m: StepMeasure): string {
  const arp = m.clientArp ? `; the client's ARP said VIP is-at ${m.clientArp}` : '';
  if (!m.recovered) return `NOT RECOVERED${arp}`;
  const over = m.withinBudget ? '' : ` (over the ${m.outageBudgetMs} ms budget)`;
  return (m.outageMs === null ? 'none' : `${m.outageMs} ms (${m.lostPackets} probes lost)${over}`) + arp;
}

function keepInstructions(s: DemoSummary, sockets: (string | null)[], mqttSock: string | null): string {
  const bin = 'node dist/tandem.js';
  const lines = ['', `Lab ${s.lab} is still running (--keep). Explore it from another terminal, as root:`];
  s.routers.forEach((r, i) => {
    lines.push(
      `  ip netns exec ${r.ns} bash        # appliance ${r.name} (${r.kind}, priority ${r.priority}, ${r.ipv4})`,
    );
    if (sockets[i]) lines.push(`    ${bin} status --socket ${sockets[i]}`);
  });
  lines.push(
    `  ip netns exec ${s.client.ns} ip neigh          # the client (${s.client.ipv4}): whose MAC has ${s.vip}?`,
  );
  lines.push(`  ip netns exec ${s.routers[0].ns} tcpdump -ni eth0 vrrp   # the adverts on the wire`);
  if (mqttSock) lines.push(`  mosquitto_sub --unix ${mqttSock} -t '#' -v      # the telemetry stream`);
  lines.push('Remove it: Ctrl-C here, or `./build.sh lab down` from the source tree.');
  return lines.join('\n');
}
