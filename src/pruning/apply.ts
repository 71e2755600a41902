/**
 * Putting a mask in force: the ParamVector holds it (pruned weights zeroed at once and frozen by
 * the optimizers' lrMask), the model's variables get the zeroed weights, and the optimizer's
 * state of pruned weights is zeroed too. From then on ParamVector.setGrads zeroes their
 * gradients, so moments and momentum buffers of pruned weights stay exactly 0 and the weights
 * stay exactly 0 after every step (PyTorch's torch.nn.utils.prune gives the same: the gradient of
 * a masked weight is 0).
 */
import type { ParamVector } from '../engine/param-vector.js';
import type { Optimizer } from '../optim/index.js';

/** Zeroes the entries of pruned weights in every state buffer of the optimizer. */
export function maskOptimizerState(optimizer: Optimizer, mask: Float32Array): void {
  const state = optimizer.stateDict();
  for (const data of Object.values(state.buffers)) {
    if (data.length !== mask.length) continue;
    for (let i = 0; i < data.length; i++) if (mask[i] === 0) data[i] = 0;
  }
  optimizer.loadStateDict(state);
}

/** Installs `mask` in `pv`, writes the pruned weights to the model and masks optimizer state. */
export function installMask(
  pv: ParamVector,
  mask: Float32Array,
  optimizer?: Optimizer | null,
): void {
  pv.setMask(mask);
  pv.writeBack();
  if (optimizer) maskOptimizerState(optimizer, mask);
}
