export * from './types.ts';
export {
  step as hsrpStep,
  initialState as hsrpInitialState,
  nextDeadline as hsrpNextDeadline,
  isStopped as hsrpIsStopped,
  reconfigure as hsrpReconfigure,
  outranks as hsrpOutranks,
} from './machine.ts';
