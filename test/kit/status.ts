// Whole status objects for tests of code that reads them (telemetry payloads, status tables):
// every field the engine reports, with the ones a test cares about overridden.
import { type InstanceCounters, type InstanceStatus, zeroCounters } from '../../firmware/core/status.ts';

export function exampleCounters(over: Partial<InstanceCounters> = {}): InstanceCounters {
  return { ...zeroCounters(), ...over };
}

export function exampleInstanceStatus(over: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    name: 'lan',
    interface: 'eth0',
    ifIndex: 2,
    primaryIp: '192.0.2.1',
    virtualMac: '00:00:5e:00:01:07',
    advertIntervalMs: 1000,
    preempt: true,
    acceptMode: false,
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
    lastTransitionUnixMs: null,
    masterReason: null,
    counters: exampleCounters(),
    maintenance: false,
    trackedDown: [],
    failedScripts: [],
    ...over,
  };
}
