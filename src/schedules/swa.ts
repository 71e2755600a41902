/**
 * SWALR (PyTorch torch.optim.swa_utils.SWALR): anneal from the learning rate in use when SWA
 * starts to the SWA learning rate, then hold it. Izmailov et al. 2018.
 */
import { defineSchedule, type Schedule } from './types.js';
import { checker } from './validate.js';

export interface SwalrOptions {
  /** The learning rate in use when SWA starts (PyTorch reads it from the optimizer). */
  fromLr: number;
  /** The constant SWA learning rate reached after annealing. */
  swaLr: number;
  /** Steps over which to anneal (PyTorch anneal_epochs, in scheduler.step() calls). 0 = jump. */
  annealSteps: number;
  /** 'cos' (PyTorch default) or 'linear'. */
  strategy?: 'cos' | 'linear';
  /**
   * The value changes only every `updateEvery` steps. PyTorch steps SWALR once per epoch, so
   * updateEvery = steps per epoch (with annealSteps = anneal_epochs * steps per epoch)
   * reproduces it exactly; the default 1 anneals smoothly per step.
   */
  updateEvery?: number;
}

/**
 * lr(t) = swaLr * alpha + fromLr * (1 - alpha), alpha = anneal(min(1, k / annealSteps)), where
 * k = t rounded down to a multiple of updateEvery and anneal(p) = (1 - cos(pi p)) / 2 or p.
 * This is PyTorch's recurrence solved in closed form: it holds whenever nothing else changes
 * the lr during annealing. annealSteps = 0 gives swaLr from the first step, as in PyTorch.
 */
export function swalr(opts: SwalrOptions): Schedule {
  const check = checker('swalr');
  const fromLr = check.finite('fromLr', opts.fromLr);
  const swaLr = check.finite('swaLr', opts.swaLr);
  const annealSteps = check.integer('annealSteps', opts.annealSteps, 0);
  const strategy = check.oneOf('strategy', opts.strategy ?? 'cos', ['cos', 'linear'] as const);
  const updateEvery = check.integer('updateEvery', opts.updateEvery ?? 1, 1);
  return defineSchedule('swalr', (t) => {
    const k = t - (t % updateEvery);
    const progress = annealSteps === 0 ? 1 : Math.min(1, k / annealSteps);
    const alpha = strategy === 'cos' ? (1 - Math.cos(Math.PI * progress)) / 2 : progress;
    return swaLr * alpha + fromLr * (1 - alpha);
  });
}
