/**
 * anneal's public API. Each area re-exports its own index; see DESIGN.md for the layout.
 */
export { AnnealError, UsageError, isAnnealError } from './errors.js';
export * from './kernels/index.js';
export * from './engine/index.js';
export {
  ParamVector,
  inferKind,
  decayFactors,
  DEFAULT_DECAY_BY_KIND,
  SEGMENT_KINDS,
  type ParamSegment,
  type SegmentKind,
  type DecayOptions,
  type DecayRule,
  type DecayFactor,
  type ParamVectorOptions,
  type ParamSource,
} from './engine/param-vector.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './schedules/index.js';
export * from './optim/index.js';
export * from './train/index.js';
export * from './methods/index.js';
export * from './averaging/index.js';
export * from './flatness/index.js';
export * from './pruning/index.js';
export * from './search/index.js';
export { JsonlLog, JsonlLogger, readJsonl } from './report/jsonl.js';
export { CsvLogger, readCsv } from './report/csv.js';
export * from './report/index.js';
