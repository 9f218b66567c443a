// The VRRP state machine's public surface: pure functions over plain data (see machine.ts).
export { initialState, isStopped, nextDeadline, reconfigure, step } from './machine.ts';
export { csToMs, masterDownIntervalCs, skewTimeCs } from './timers.ts';
export { compareIp, parseIp, sameAddressSet } from './ip.ts';
export type * from './types.ts';
export { isPlainRefresh, refreshOnRepeat } from './repeat.ts';
