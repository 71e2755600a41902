/**
 * Cyclical learning rates (Smith 2017, PyTorch CyclicLR) and the one-cycle policy (Smith &
 * Topin 2019, PyTorch OneCycleLR), each with momentum cycled in antiphase: when the learning
 * rate is high the momentum is low. Both return { lr, momentum? }.
 */
import { defineSchedule, type LrMomentumSchedule } from './types.js';
import { cosineBetween } from './cosine.js';
import { checker } from './validate.js';

export type CyclicMode = 'triangular' | 'triangular2' | 'exp_range';

export interface CyclicOptions {
  /** Lower bound of the cycle (PyTorch base_lr). */
  baseLr: number;
  /** Upper bound (PyTorch max_lr); reached only while the amplitude scale is 1. */
  maxLr: number;
  /** Steps from baseLr up to maxLr. Default 2000 (PyTorch). */
  stepSizeUp?: number;
  /** Steps back down. Default stepSizeUp. */
  stepSizeDown?: number;
  /** 'triangular': constant amplitude; 'triangular2': halved each cycle; 'exp_range': scaled by gamma^t. */
  mode?: CyclicMode;
  /** exp_range's per-step factor. Default 1. */
  gamma?: number;
  /** Cycle momentum between maxMomentum and baseMomentum in antiphase. Default true (PyTorch). */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

/**
 * PyTorch CyclicLR, per step:
 *   cycle = floor(1 + t / (up + down)), x = position in the cycle,
 *   scale = x / up while rising, (cycle length - x) / down while falling,
 *   lr = baseLr + (maxLr - baseLr) * scale * amp,
 *   momentum = maxMomentum - (maxMomentum - baseMomentum) * scale * amp,
 * where amp = 1 (triangular), 1 / 2^(cycle - 1) (triangular2) or gamma^t (exp_range). The
 * position is computed in integer steps (t mod cycle length), which is exact where PyTorch's
 * 1 + t/total - cycle can round.
 */
export function cyclicLR(opts: CyclicOptions): LrMomentumSchedule {
  const check = checker('cyclic');
  const baseLr = check.finite('baseLr', opts.baseLr);
  const maxLr = check.finite('maxLr', opts.maxLr);
  check.ordered('baseLr', baseLr, 'maxLr', maxLr);
  const up = check.integer('stepSizeUp', opts.stepSizeUp ?? 2000, 1);
  const down = check.integer('stepSizeDown', opts.stepSizeDown ?? up, 1);
  const mode = check.oneOf('mode', opts.mode ?? 'triangular', [
    'triangular',
    'triangular2',
    'exp_range',
  ] as const);
  const gamma = check.positive('gamma', opts.gamma ?? 1);
  const cycleMomentum = check.boolean('cycleMomentum', opts.cycleMomentum ?? true);
  const baseMomentum = check.finite('baseMomentum', opts.baseMomentum ?? 0.8);
  const maxMomentum = check.finite('maxMomentum', opts.maxMomentum ?? 0.9);
  check.ordered('baseMomentum', baseMomentum, 'maxMomentum', maxMomentum);

  const total = up + down;
  /** scale * amp in [0, 1]: how far towards the peak step t is. */
  const height = (t: number): number => {
    const position = t % total;
    const scale = position <= up ? position / up : (total - position) / down;
    const cycle = Math.floor(t / total) + 1;
    const amp =
      mode === 'triangular' ? 1 : mode === 'triangular2' ? 1 / 2 ** (cycle - 1) : gamma ** t;
    return scale * amp;
  };
  return {
    lr: defineSchedule('cyclic', (t) => baseLr + (maxLr - baseLr) * height(t)),
    momentum: cycleMomentum
      ? defineSchedule(
          'cyclic momentum',
          (t) => maxMomentum - (maxMomentum - baseMomentum) * height(t),
        )
      : undefined,
  };
}

export interface OneCycleOptions {
  maxLr: number;
  /** Length of the whole cycle in steps. */
  totalSteps: number;
  /** Fraction of the steps spent rising. Default 0.3. */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Initial lr = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** Final lr = initial lr / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Smith's three phases (up, back down to the initial lr, then to the final lr). Default false. */
  threePhase?: boolean;
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

interface Phase {
  /** Step at which the phase ends (fractional, as in PyTorch). */
  end: number;
  lr: [number, number];
  momentum: [number, number];
}

/**
 * PyTorch OneCycleLR. Phases end at steps pctStart*T - 1, (three-phase: 2*pctStart*T - 2) and
 * T - 1 (fractional ends, as in PyTorch); within a phase the value goes from its start to its
 * end value by cosine or linear annealing. Step 0 uses maxLr / divFactor, step T - 1 uses
 * maxLr / divFactor / finalDivFactor. Difference: PyTorch raises when stepped past T; anneal
 * holds the final values.
 */
export function oneCycle(opts: OneCycleOptions): LrMomentumSchedule {
  const check = checker('onecycle');
  const maxLr = check.positive('maxLr', opts.maxLr);
  const total = check.integer('totalSteps', opts.totalSteps, 2);
  const pctStart = check.inRange('pctStart', opts.pctStart ?? 0.3, 0, 1, '()');
  const strategy = check.oneOf('annealStrategy', opts.annealStrategy ?? 'cos', [
    'cos',
    'linear',
  ] as const);
  const divFactor = check.positive('divFactor', opts.divFactor ?? 25);
  const finalDivFactor = check.positive('finalDivFactor', opts.finalDivFactor ?? 1e4);
  const threePhase = check.boolean('threePhase', opts.threePhase ?? false);
  const cycleMomentum = check.boolean('cycleMomentum', opts.cycleMomentum ?? true);
  const baseMomentum = check.finite('baseMomentum', opts.baseMomentum ?? 0.85);
  const maxMomentum = check.finite('maxMomentum', opts.maxMomentum ?? 0.95);
  check.ordered('baseMomentum', baseMomentum, 'maxMomentum', maxMomentum);

  const initialLr = maxLr / divFactor;
  const finalLr = initialLr / finalDivFactor;
  const upEnd = pctStart * total - 1;
  const phases: Phase[] = threePhase
    ? [
        { end: upEnd, lr: [initialLr, maxLr], momentum: [maxMomentum, baseMomentum] },
        {
          end: 2 * pctStart * total - 2,
          lr: [maxLr, initialLr],
          momentum: [baseMomentum, maxMomentum],
        },
        { end: total - 1, lr: [initialLr, finalLr], momentum: [maxMomentum, maxMomentum] },
      ]
    : [
        { end: upEnd, lr: [initialLr, maxLr], momentum: [maxMomentum, baseMomentum] },
        { end: total - 1, lr: [maxLr, finalLr], momentum: [baseMomentum, maxMomentum] },
      ];
  // Every phase must last more than zero steps, or its interpolation divides by zero.
  phases.forEach((phase, i) => {
    const start = i === 0 ? 0 : phases[i - 1].end;
    if (!(phase.end > start)) {
      throw check.fail(
        'pctStart',
        pctStart,
        `a value that gives every phase a positive length (phase ${i + 1} would run from step ` +
          `${start} to ${phase.end} of ${total}; raise totalSteps or move pctStart)`,
      );
    }
  });
  const anneal = (from: number, to: number, pct: number): number =>
    strategy === 'cos' ? cosineBetween(from, to, pct) : from + (to - from) * pct;
  const valueAt = (pick: (phase: Phase) => [number, number]) => (t: number) => {
    const step = Math.min(t, total - 1);
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const phase = phases[i];
      if (step <= phase.end || i === phases.length - 1) {
        const [from, to] = pick(phase);
        return anneal(from, to, (step - start) / (phase.end - start));
      }
      start = phase.end;
    }
    throw new Error('unreachable: the last phase always matches');
  };
  return {
    lr: defineSchedule(
      'onecycle',
      valueAt((p) => p.lr),
    ),
    momentum: cycleMomentum
      ? defineSchedule(
          'onecycle momentum',
          valueAt((p) => p.momentum),
        )
      : undefined,
  };
}
