export * from './conntrackd-conf.ts';
export * from './hold.ts';
export * from './sequencer.ts';
export * from './stats.ts';
