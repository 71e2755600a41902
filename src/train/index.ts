/** The Trainer and what it is made of: events, methods, callbacks, state, checkpoints. */
export {
  Trainer,
  type CheckpointOptions,
  type FitOptions,
  type FitResult,
  type ScheduleLike,
  type TrainerOptions,
  type TrainerSchedules,
} from './trainer.js';
export { Event, EVENTS, TAPE_EVENTS, isReversedEvent } from './events.js';
export type {
  Callback,
  Hook,
  LogRecord,
  Logger,
  Method,
  MethodState,
  StateValue,
} from './method.js';
export type { LossFn, ModelLike, PlainModel, Timestamp, TrainBatch, TrainState } from './state.js';
export { EventDispatcher, type TraceEntry } from './dispatch.js';
export { evaluate, evaluateSync, type EvaluateOptions, type Evaluation } from './evaluate.js';
export { batchTensors, crossEntropy, top1Hits } from './loss.js';
export { forward, isLayersModel, trainableVariables } from './model.js';
export {
  CheckpointStore,
  checkpointFileName,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  packState,
  resolveCheckpointPath,
  saveCheckpoint,
  unpackState,
  type CheckpointContents,
  type NamedArray,
  type PackableValue,
} from './checkpoint.js';
export {
  applyTrainerCheckpoint,
  readTrainerCheckpoint,
  trainerCheckpoint,
  type RestoredCheckpoint,
} from './resume.js';
export { writeFileAtomic } from './atomic.js';
export {
  findLr,
  lossSmoother,
  lrRangeSchedule,
  smoothLosses,
  suggestLrs,
  type LrCurvePoint,
  type LrFinderOptions,
  type LrFinderResult,
  type LrFinderStop,
  type LrRange,
  type LrRangeMode,
  type LrSuggestions,
  type SuggestionTrim,
} from './lr-finder.js';
