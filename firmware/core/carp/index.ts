export * from './types.ts';
export {
  step as carpStep,
  initialState as carpInitialState,
  nextDeadline as carpNextDeadline,
  isStopped as carpIsStopped,
  reconfigure as carpReconfigure,
  carpTv,
  masterDownTv,
  effectiveAdvskew,
  CARP_DEMOTED_ADVSKEW,
  CARP_LAST_ADVERT,
} from './machine.ts';
