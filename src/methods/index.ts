/**
 * Training methods that plug into the Trainer (src/train), each with a functional twin usable
 * without it. One folder per method, with a README method card.
 */
export {
  EarlyStopping,
  earlyStopping,
  advanceStopping,
  isImprovement,
  shouldStop,
  type EarlyStoppingOptions,
  type StoppingMode,
  type StoppingProgress,
  type StoppingRule,
} from './early-stopping/index.js';
export {
  NanGuard,
  nanGuard,
  findNonFiniteSegments,
  type NanGuardOptions,
  type NanPolicy,
  type NonFiniteSegment,
} from './nan-guard/index.js';
export { METHODS, createMethod, methodNames, type MethodEntry } from './registry.js';
