export * from './types.ts';
export {
  step as hsrpStep,
  initialState as hsrpInitialState,
  nextDeadline as hsrpNextDeadline,
  isStopped as hsrpIsStopped,
  reconfigure as hsrpReconfigure,
  outranks as hsrpOutranks,
  HSRP_DEFAULT_HELLOTIME_MS,
  HSRP_DEFAULT_HOLDTIME_MS,
} from './machine.ts';
