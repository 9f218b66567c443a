// What a reload does to each instance (firmware/engine/reload-plan.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../firmware/config/index.ts';
import type { InstanceConfig } from '../../firmware/config/types.ts';
import { planReload } from '../../firmware/engine/reload-plan.ts';

function instances(yaml: string): InstanceConfig[] {
  const r = loadConfig('/virtual/tandem.yaml', { hostname: 'r1', platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.instances;
}

const one = (extra = '', vrid = 51, name = 'lan') =>
  `  - name: ${name}\n    interface: eth0\n    vrid: ${vrid}\n    addresses: [192.0.2.254/24]\n${extra}`;
const cfg = (...blocks: string[]) => `node: r1\ninstances:\n${blocks.join('')}`;

test('an identical instance is left untouched, even when it moved to another line', () => {
  const plan = planReload(instances(cfg(one())), instances(`# a comment\n\n${cfg(one())}`));
  assert.equal(plan, { unchanged: ['lan'], inPlace: [], restart: [], remove: [], add: [] });
});

test('priority, preempt and garp changes apply in place', () => {
  const plan = planReload(instances(cfg(one())), instances(cfg(one('    priority: 150\n    preempt: false\n'))));
  assert.equal(plan.inPlace, ['lan']);
});

test('a changed VRID, interval or address restarts the instance', () => {
  const old = instances(cfg(one()));
  assert.equal(planReload(old, instances(cfg(one('', 52)))).restart, ['lan']);
  assert.equal(planReload(old, instances(cfg(one('    advert_interval: 2s\n')))).restart, ['lan']);
});

test('instances gone and new are removed and added', () => {
  const plan = planReload(instances(cfg(one())), instances(cfg(one('', 52, 'wan'))));
  assert.equal(plan.remove, ['lan']);
  assert.equal(plan.add, ['wan']);
});

test.run();
