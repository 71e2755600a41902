/** Learning-rate and hyper-parameter schedules: pure functions of the optimizer step. */
export { defineSchedule, type Schedule, type LrMomentumSchedule } from './types.js';
export {
  constant,
  stepDecay,
  multiStep,
  exponential,
  linear,
  linearToZero,
  polynomial,
  withWarmup,
  sequential,
} from './basic.js';
export {
  cosineAnnealing,
  sgdr,
  geometricCycle,
  type SgdrOptions,
  type CyclePosition,
} from './cosine.js';
export {
  cyclicLR,
  oneCycle,
  type CyclicOptions,
  type CyclicMode,
  type OneCycleOptions,
} from './cyclic.js';
export { swalr, type SwalrOptions } from './swa.js';
export {
  multiplicativeCyclic,
  multiplicativeCycleEnds,
  multiplicativeCyclesLength,
  type MultiplicativeCyclicOptions,
} from './multiplicative.js';
export {
  cyclical,
  easyHardEasy,
  cyclicalWeightDecaySchedule,
  cyclicalTemperatureSchedule,
  cyclicalGradClipSchedule,
  cyclicalBatchSizeSchedule,
  type CyclicalOptions,
  type EasyHardEasyOptions,
  type CycleShape,
} from './general-cyclical.js';
export {
  createSchedule,
  scheduleNames,
  describeSchedules,
  type ScheduleSpec,
  type BuiltSchedule,
} from './registry.js';
export {
  renderSchedule,
  previewSchedule,
  formatPreview,
  formatChart,
  sampleSteps,
  type ChartOptions,
  type RenderedSchedule,
  type SchedulePreview,
} from './render.js';
