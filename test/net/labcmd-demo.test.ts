// `./build.sh lab` end to end, as a user runs it (lab/cli.ts from source, daemons from the built bundle), non-TTY,
// --json. Each run builds its own namespaces (prefix lab + 4 hex) and must leave nothing behind:
// no namespace, no process, no temp dir, no registry record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY_DIR } from '../../lab/registry.ts';
import type { DemoSummary, StepResult } from '../../lab/demo.ts';

// The lab runs from source, as `./build.sh lab` runs it: it is not part of the appliance bundle.
const LAB = ['--import', 'tsx', new URL('../../lab/cli.ts', import.meta.url).pathname];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): { child: ChildProcess; out: { stdout: string; stderr: string }; done: Promise<Run> } {
  const child = spawn(process.execPath, [...LAB, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out.stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out.stderr += d;
  });
  const done = new Promise<Run>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, ...out })));
  return { child, out, done };
}

/** Run to the end, killing it after `timeoutMs`. */
async function run(args: string[], timeoutMs = 90_000): Promise<Run> {
  const { child, done } = start(args);
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const r = await done;
  clearTimeout(t);
  return r;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summaryOf(r: Run): DemoSummary {
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `no JSON summary on stdout; stderr:\n${r.stderr.slice(-4000)}`);
  return JSON.parse(line!) as DemoSummary;
}

const stepOf = (s: DemoSummary, name: string): StepResult => {
  const st = s.steps.find((x) => x.step === name);
  assert.ok(st, `no step ${name} in ${JSON.stringify(s.steps)}`);
  return st!;
};

/** Everything a lab named `name` could leave behind, listed. */
function leftovers(name: string): string[] {
  const left: string[] = [];
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]);
  left.push(...ns.filter((n) => n.startsWith(`${name}-`)).map((n) => `namespace ${n}`));
  left.push(
    ...readdirSync(tmpdir())
      .filter((d) => d.startsWith(`tandem-lab-${name}-`))
      .map((d) => `dir ${d}`),
  );
  if (existsSync(join(REGISTRY_DIR, `${name}.json`))) left.push(`record ${name}.json`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(`tandem-lab-${name}-`) || cmd.includes(`${name}-r`) || cmd.includes(`${name}-c`))
        left.push(`process ${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return left;
}

const labNameIn = (text: string) => /building lab (lab[0-9a-f]{4})/.exec(text)?.[1];

test('refuses without root, with a clear message', async () => {
  const r = await new Promise<Run>((resolve) => {
    const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...LAB], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /needs root/);
});

test('bad options are refused with exit 2', async () => {
  for (const args of [['--routers', '9'], ['--advert', '15ms'], ['--peer', 'vyos'], ['--nonsense']]) {
    const r = await run([...args], 10_000);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('the demo: election, a measured failover, preemption, handoff, restart; nothing left', async () => {
  const r = await run(['--advert', '100ms', '--json']);
  const s = summaryOf(r);
  assert.is(r.code, 0, `exit ${r.code}; summary ${JSON.stringify(s.steps, null, 1)}\n${r.stderr.slice(-3000)}`);
  assert.ok(s.ok);
  assert.is(s.advertMs, 100);
  assert.equal(
    s.routers.map((x) => [x.name, x.kind, x.priority]),
    [
      ['r1', 'tandem', 200],
      ['r2', 'tandem', 150],
    ],
  );
  assert.is(stepOf(s, 'election').master, 'r1');
  const f = stepOf(s, 'failover');
  assert.is(f.master, 'r2');
  assert.ok(f.outageMs !== null && f.outageMs >= 100 && f.outageMs <= 1500, `failover outage ${f.outageMs} ms`);
  assert.ok(f.lostPackets > 50, `only ${f.lostPackets} probes lost in a ${f.outageMs} ms outage`);
  assert.is(stepOf(s, 'preemption').master, 'r1');
  const h = stepOf(s, 'handoff');
  assert.is(h.master, 'r2');
  assert.ok(h.ok, JSON.stringify(h));
  assert.is(stepOf(s, 'restart').master, 'r1');
  // The daemons' telemetry reached the embedded broker: at least the failover's state event.
  assert.ok(
    s.telemetry.events.some((e) => e.node === 'r2' && e.to === 'master'),
    JSON.stringify(s.telemetry),
  );
  assert.equal(leftovers(s.lab), []);
});

test('--peer keepalived: the last appliance is keepalived 2.2.7 and the steps interoperate', async () => {
  const r = await run(['--peer', 'keepalived', '--json']);
  const s = summaryOf(r);
  assert.equal(
    s.routers.map((x) => x.kind),
    ['tandem', 'keepalived'],
  );
  assert.is(stepOf(s, 'election').master, 'r1');
  const f = stepOf(s, 'failover');
  assert.is(f.master, 'r2');
  assert.ok(f.outageMs !== null && f.outageMs >= 100 && f.outageMs <= 1500, `failover outage ${f.outageMs} ms`);
  // Who is master after preemption is certain; the client's outage is not: when keepalived
  // hears r1 first it steps down without a last advert, r1 never re-announces, and the client
  // keeps keepalived's MAC until its ARP entry goes stale (docs/lab.md). So only the state here.
  assert.is(stepOf(s, 'preemption').master, 'r1');
  const h = stepOf(s, 'handoff');
  assert.is(h.master, 'r2');
  assert.ok(h.ok, JSON.stringify(h));
  assert.is(stepOf(s, 'restart').master, 'r1');
  assert.equal(leftovers(s.lab), []);
});

test('--peer ucarp: every appliance speaks CARP, the last is ucarp 1.5.2, at 1 s advbase', async () => {
  const r = await run(['--peer', 'ucarp', '--json'], 150_000);
  const s = summaryOf(r);
  assert.is(r.code, 0, `exit ${r.code}; summary ${JSON.stringify(s.steps, null, 1)}\n${r.stderr.slice(-3000)}`);
  assert.is(s.advertMs, 1000);
  assert.equal(
    s.routers.map((x) => x.kind),
    ['tandem', 'ucarp'],
  );
  assert.is(stepOf(s, 'election').master, 'r1');
  // ucarp (advskew 255 - 150 = 105) declares r1 down 3 s + 105/256 s after r1's last advert.
  const f = stepOf(s, 'failover');
  assert.is(f.master, 'r2');
  assert.ok(f.tookMs !== null && f.tookMs >= 3410 - 1000 - 200, `failover after ${f.tookMs} ms: too early`);
  assert.is(stepOf(s, 'preemption').master, 'r1');
  // tandem's last advert makes ucarp take over well inside its master-down interval (>= 2.41 s
  // after SIGTERM without it); ucarp reads its capture up to 1 s late.
  const h = stepOf(s, 'handoff');
  assert.is(h.master, 'r2');
  assert.ok(h.tookMs !== null && h.tookMs < 3410 - 1000, `handoff after ${h.tookMs} ms`);
  assert.is(stepOf(s, 'restart').master, 'r1');
  assert.equal(leftovers(s.lab), []);
});

test('--keep leaves the lab running until `./build.sh lab down` removes it', async () => {
  const keep = start(['--keep', '--json']);
  let name: string | undefined;
  try {
    await until(() => keep.out.stdout.includes('\n') || keep.child.exitCode !== null, 90_000, 'the summary');
    const s = JSON.parse(keep.out.stdout.split('\n')[0]) as DemoSummary;
    name = s.lab;
    assert.ok(s.kept);
    assert.is(keep.child.exitCode, null, 'the --keep process exited');
    const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of [`${name}-sw`, `${name}-r1`, `${name}-r2`, `${name}-c1`])
      assert.ok(ns.includes(n), `${n} missing while kept`);
    await until(
      () => /build\.sh lab down/.test(keep.out.stderr),
      10_000,
      'the instructions to explore and remove the lab',
    );
    const down = await run(['down'], 30_000);
    assert.is(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`stopped ${name}`));
    const exit = await Promise.race([keep.done, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    assert.ok(exit, 'the --keep process did not exit after lab down');
    assert.equal(leftovers(name), []);
  } finally {
    if (keep.child.exitCode === null) keep.child.kill('SIGKILL');
    if (name && leftovers(name).length) await run(['down'], 30_000);
  }
});

test('SIGINT in the middle of the scenario tears everything down', async () => {
  const lab = start(['--json']);
  let name: string | undefined;
  try {
    await until(() => /2\/5 failover/.test(lab.out.stderr) || lab.child.exitCode !== null, 60_000, 'the failover step');
    name = labNameIn(lab.out.stderr);
    assert.ok(name, lab.out.stderr);
    assert.is(lab.child.exitCode, null, lab.out.stderr);
    lab.child.kill('SIGINT');
    const exit = await Promise.race([lab.done, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
    assert.ok(exit, 'still running 20 s after SIGINT');
    assert.is(exit!.code, 130);
    assert.equal(leftovers(name!), []);
  } finally {
    if (lab.child.exitCode === null) lab.child.kill('SIGKILL');
    if (name && leftovers(name).length) await run(['down'], 30_000);
  }
});

test.run();
