/**
 * anneal's public API: every area's index, re-exported. Each area is also its own entry point
 * (`anneal/methods`, `anneal/train`, ... and `anneal/functional` for the methods' plain-function
 * twins); see package.json's "exports" and DESIGN.md's layout.
 */
export { AnnealError, UsageError, isAnnealError } from './errors.js';
export * from './kernels/index.js';
export * from './backend/index.js';
export * from './time/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './schedules/index.js';
export * from './optim/index.js';
export * from './train/index.js';
export * from './logs/index.js';
export * from './io/index.js';
export * from './methods/index.js';
export * from './averaging/index.js';
export * from './flatness/index.js';
export * from './pruning/index.js';
export * from './runs/index.js';
export * from './search/index.js';
export * from './tradeoff/index.js';
export * from './queue/index.js';
export * from './report/index.js';
