/**
 * Shrink and perturb (Ash & Adams 2020): every period, w <- lambda * w + sigma * n with n a
 * standard Gaussian, over the whole flat parameter vector (two kernel calls: scale, perturb).
 * Shrinking keeps what was learned in proportion while undoing the growth of the weights;
 * the noise restores the gradient diversity of a fresh initialisation. See README.md.
 */
import { deriveSeed } from '../../data/index.js';
import type { FlatOps, FlatVector } from '../../kernels/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { checkNumber } from '../../options.js';
import { StepSchedule, type ReinitSchedule } from '../reinit/index.js';

export interface ShrinkPerturbOptions extends ReinitSchedule {
  /** Shrink factor in [0, 1] (default 0.4). */
  lambda?: number;
  /** Standard deviation of the added noise, >= 0 (default 0.01). */
  sigma?: number;
}

const METHOD = 'shrink-perturb';
/** Kernel random stream of the noise (RandomSpec.stream). */
const SHRINK_PERTURB_STREAM = 0x73707274;

/**
 * The functional twin: params <- lambda * params + sigma * N(0, 1), the noise drawn by the
 * kernels' counter-based generator from `seed` (the same numbers on every backend).
 */
export function shrinkPerturb(
  ops: FlatOps,
  params: FlatVector,
  lambda: number,
  sigma: number,
  seed: number,
): void {
  checkNumber(METHOD, 'lambda', lambda, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  checkNumber(METHOD, 'sigma', sigma, (v) => v >= 0, 'a finite number >= 0');
  ops.scale(params, lambda);
  if (sigma > 0) {
    ops.perturb(params, sigma, { seed, stream: SHRINK_PERTURB_STREAM, distribution: 'gaussian' });
  }
}

export class ShrinkPerturb implements Method {
  readonly name = METHOD;
  readonly lambda: number;
  readonly sigma: number;
  private readonly schedule: StepSchedule;

  constructor(opts: ShrinkPerturbOptions = {}) {
    this.lambda = checkNumber(
      METHOD,
      'lambda',
      opts.lambda ?? 0.4,
      (v) => v >= 0 && v <= 1,
      'a number in [0, 1]',
    );
    this.sigma = checkNumber(
      METHOD,
      'sigma',
      opts.sigma ?? 0.01,
      (v) => v >= 0,
      'a finite number >= 0',
    );
    this.schedule = new StepSchedule(METHOD, opts);
  }

  match(event: Event, state: TrainState): boolean {
    return this.schedule.matches(event, state);
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) {
      this.schedule.init(state);
      return;
    }
    const step = state.timestamp.step;
    shrinkPerturb(
      state.ops,
      state.pv.params,
      this.lambda,
      this.sigma,
      deriveSeed(state.seed, step),
    );
    state.pv.applyMask(); // pruned weights stay pruned
    state.pv.writeBack();
    log.log(METHOD, { index: this.schedule.due(step), lambda: this.lambda, sigma: this.sigma });
  }
}

/** `shrinkPerturb({ lambda: 0.4, sigma: 0.01, every: '5ep' })`. */
export function shrinkAndPerturb(opts: ShrinkPerturbOptions = {}): ShrinkPerturb {
  return new ShrinkPerturb(opts);
}
