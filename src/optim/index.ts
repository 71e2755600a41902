/** Optimizers on flat vectors: AdamW / Adam-L2 / AMSGrad, SGD(W) / Nesterov, Lookahead, registry. */
export type {
  AdamParams,
  Optimizer,
  OptimizerHyper,
  OptimizerStateDict,
  SgdParams,
} from './types.js';
export { Adam, type AdamVariant } from './adam.js';
export { Sgd } from './sgd.js';
export { Lookahead, type LookaheadParams } from './lookahead.js';
export { EntropySgd, type EntropySgdParams } from './entropy-sgd.js';
export {
  LOOKAHEAD_DEFAULTS,
  OPTIMIZERS,
  createOptimizer,
  optimizerNames,
  resolveOptimizer,
  type OptimizerOptions,
  type OptimizerRecord,
  type OptimizerSpec,
} from './registry.js';
