// Engines (firmware/engine/engine.ts) on fake drivers joined by one FakeLan: no root, no kernel.
// Time is real but short (100 ms adverts), so a failover takes a few hundred ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConntrackdDriver } from '../../drivers/conntrackd.ts';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import type { OsName } from '../../drivers/types.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import type { TandemConfig } from '../../firmware/config/types.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

export interface FakeNode {
  name: string;
  driver: FakeDriver;
  engine: Engine;
  events: EngineEvent[];
  /** The config this node started with, from `yaml(index)` with `node` and `state_dir` added. */
  config(body?: string): TandemConfig;
}

/** A validated config: `body` is the YAML from `instances:` on. */
export function fakeConfig(name: string, stateDir: string, body: string): TandemConfig {
  const yaml = `node: ${name}\nstate_dir: ${stateDir}\n${body}`;
  const r = loadConfig(`/virtual/${name}.yaml`, { hostname: name, platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Starts one engine per body (router i has 192.0.2.(11+i)/24 and 198.51.100.(11+i)/24 on eth0,
 *  and the extra fake `links` without addresses),
 *  runs `fn`, and always stops every engine and removes the state directories. */
export async function withFakeEngines(
  bodies: string[],
  fn: (nodes: FakeNode[], lan: FakeLan) => Promise<void>,
  opts: {
    retryMs?: number;
    links?: string[];
    macFlapGraceMs?: number;
    conntrackd?: ConntrackdDriver;
    os?: OsName;
  } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-engine-'));
  const lan = new FakeLan();
  const nodes: FakeNode[] = bodies.map((body, i) => {
    const driver = new FakeDriver({
      os: opts.os,
      links: Object.fromEntries(['eth0', ...(opts.links ?? [])].map((l) => [l, {}])),
    });
    driver.addAddress('eth0', `192.0.2.${11 + i}/24`);
    driver.addAddress('eth0', `198.51.100.${11 + i}/24`);
    lan.attach(driver, 'eth0');
    const name = `r${i + 1}`;
    const stateDir = join(dir, name);
    const engine = new Engine({
      driver,
      log: createLogger('silent'),
      config: fakeConfig(name, stateDir, body),
      actionFaultRetryMs: opts.retryMs,
      macFlapGraceMs: opts.macFlapGraceMs,
      conntrackd: opts.conntrackd,
    });
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    return { name, driver, engine, events, config: (b = body) => fakeConfig(name, stateDir, b) };
  });
  try {
    for (const n of nodes) n.engine.start();
    await fn(nodes, lan);
  } finally {
    for (const n of nodes) await n.engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `pred` every 5 ms; throws naming `what` after `ms`. Returns the time it took. */
export async function until(what: string, pred: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

/** The state of instance `name` on a node. */
export const stateIn = (n: FakeNode, name = 'lan') => n.engine.status().instances.find((i) => i.name === name)?.state;

/** YAML for one VRRP instance at 100 ms adverts. */
export function fakeInstance(o: {
  name?: string;
  vrid: number;
  priority: number;
  vip: string;
  extra?: string[];
}): string {
  return [
    `  - name: ${o.name ?? 'lan'}`,
    '    interface: eth0',
    `    vrid: ${o.vrid}`,
    `    priority: ${o.priority}`,
    '    advert_interval: 100ms',
    `    addresses: [${o.vip}/24]`,
    ...(o.extra ?? []).map((l) => `    ${l}`),
  ].join('\n');
}
