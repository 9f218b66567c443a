// Whole status objects for tests of code that reads them (telemetry payloads, status tables):
// every field the engine reports, with the ones a test cares about overridden.
import type { InstanceCounters, InstanceStatus } from '../../firmware/core/status.ts';

export function exampleCounters(over: Partial<InstanceCounters> = {}): InstanceCounters {
  return {
    advertsSent: 0,
    advertsReceived: 0,
    transitions: 0,
    becameMaster: 0,
    announcements: 0,
    addressesRestored: 0,
    sendErrors: 0,
    lateTimers: 0,
    drops: {},
    ...over,
  };
}

export function exampleInstanceStatus(over: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    name: 'lan',
    interface: 'eth0',
    protocol: 'vrrp',
    vrid: 7,
    version: 3,
    family: 4,
    addresses: ['192.0.2.254/24'],
    macMode: 'none',
    state: 'master',
    priority: 100,
    effectivePriority: 100,
    masterIp: '192.0.2.1',
    masterAdverIntervalMs: 1000,
    timeInStateMs: 1000,
    counters: exampleCounters(),
    maintenance: false,
    trackedDown: [],
    failedScripts: [],
    ...over,
  };
}
