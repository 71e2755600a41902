/**
 * The multiplicative cyclic schedule of single-run tradeoff curves (Portes, Blalock,
 * Stephenson & Frankle 2022, "Fast Benchmarking of Accuracy vs. Training Time with Cyclic
 * Learning Rates"): cycles of T, mT, m^2 T, ... steps, each restarting at the peak and
 * decaying to (about) zero, so that the model at the end of cycle i stands in for a full run
 * of the same total length; evaluating at every cycle end draws the accuracy/time curve from
 * one run.
 *
 * Cycle boundaries: cycle i covers steps [B_i, B_{i+1}) with B_i = round(T (m^i - 1)/(m - 1))
 * (i T when m = 1). Rounding the cumulative sum, not each length, keeps a non-integer m from
 * drifting; every cycle still lasts at least one step since m >= 1 and T >= 1.
 */
import { defineSchedule, type Schedule } from './types.js';
import { cosineBetween } from './cosine.js';
import { checker } from './validate.js';

export interface MultiplicativeCyclicOptions {
  /** Value at the start of every cycle (after its warmup). */
  peak: number;
  /** Length T of the first cycle, in steps. */
  firstCycle: number;
  /** Cycle length multiplier m >= 1 (non-integer allowed). Default 2. */
  mult?: number;
  /** Shape within a cycle: 'linear' (the paper's, to zero) or 'cosine'. Default 'linear'. */
  shape?: 'linear' | 'cosine';
  /** Value the shape decays to. Default 0. */
  min?: number;
  /** Linear warmup steps at the start of every cycle, < firstCycle. Default 0. */
  cycleWarmup?: number;
  /** Warmup starts at cycleWarmupStartFactor * peak. Default 0. */
  cycleWarmupStartFactor?: number;
}

interface Resolved {
  peak: number;
  firstCycle: number;
  mult: number;
  shape: 'linear' | 'cosine';
  min: number;
  cycleWarmup: number;
  cycleWarmupStartFactor: number;
}

function resolve(opts: MultiplicativeCyclicOptions): Resolved {
  const check = checker('multiplicative_cyclic');
  const firstCycle = check.integer('firstCycle', opts.firstCycle, 1);
  const cycleWarmup = check.integer('cycleWarmup', opts.cycleWarmup ?? 0, 0);
  if (cycleWarmup >= firstCycle) {
    throw check.fail('cycleWarmup', cycleWarmup, `fewer steps than firstCycle (${firstCycle})`);
  }
  const mult = check.finite('mult', opts.mult ?? 2);
  if (mult < 1) throw check.fail('mult', mult, 'a number >= 1 (cycles grow or stay equal)');
  return {
    peak: check.finite('peak', opts.peak),
    firstCycle,
    mult,
    shape: check.oneOf('shape', opts.shape ?? 'linear', ['linear', 'cosine'] as const),
    min: check.finite('min', opts.min ?? 0),
    cycleWarmup,
    cycleWarmupStartFactor: check.inRange(
      'cycleWarmupStartFactor',
      opts.cycleWarmupStartFactor ?? 0,
      0,
      1,
      '',
    ),
  };
}

/** B_i: the step at which cycle i starts (= steps completed when cycle i - 1 ends). */
function boundary(i: number, o: Resolved): number {
  if (o.mult === 1) return i * o.firstCycle;
  return Math.round((o.firstCycle * (o.mult ** i - 1)) / (o.mult - 1));
}

function cycleIndex(t: number, o: Resolved): number {
  let i =
    o.mult === 1
      ? Math.floor(t / o.firstCycle)
      : Math.max(0, Math.floor(Math.log(1 + (t * (o.mult - 1)) / o.firstCycle) / Math.log(o.mult)));
  // The estimate ignores rounding of the boundaries: settle it against them.
  while (boundary(i + 1, o) <= t) i++;
  while (i > 0 && boundary(i, o) > t) i--;
  return i;
}

/**
 * Within cycle i of length L (steps s = 0 .. L-1): a warmup of w steps from
 * cycleWarmupStartFactor * peak towards peak, then decay over the remaining L - w steps with
 * p = (s - w) / (L - w): linear peak - (peak - min) p, or cosine. So the first step after
 * warmup uses the peak and the last uses min + (peak - min) / (L - w) (linear): the value
 * would reach min exactly at the cycle's end, which is when the model is evaluated.
 */
export function multiplicativeCyclic(opts: MultiplicativeCyclicOptions): Schedule {
  const o = resolve(opts);
  return defineSchedule('multiplicative_cyclic', (t) => {
    const i = cycleIndex(t, o);
    const start = boundary(i, o);
    const length = boundary(i + 1, o) - start;
    const s = t - start;
    const w = o.cycleWarmup; // < firstCycle <= length, checked in resolve()
    if (s < w)
      return o.peak * (o.cycleWarmupStartFactor + ((1 - o.cycleWarmupStartFactor) * s) / w);
    const p = (s - w) / (length - w);
    return o.shape === 'linear' ? o.peak - (o.peak - o.min) * p : cosineBetween(o.peak, o.min, p);
  });
}

/**
 * Where to evaluate: the step counts at which each cycle is complete (B_1, B_2, ...), i.e.
 * evaluate after that many optimizer steps have been taken. Only cycles that end within
 * totalSteps are listed.
 */
export function multiplicativeCycleEnds(
  opts: MultiplicativeCyclicOptions,
  totalSteps: number,
): number[] {
  const o = resolve(opts);
  checker('multiplicative_cyclic').integer('totalSteps', totalSteps, 0);
  const ends: number[] = [];
  for (let i = 1; boundary(i, o) <= totalSteps; i++) ends.push(boundary(i, o));
  return ends;
}

/** Steps needed to run `cycles` complete cycles: B_cycles (to size a run). */
export function multiplicativeCyclesLength(
  opts: MultiplicativeCyclicOptions,
  cycles: number,
): number {
  const o = resolve(opts);
  return boundary(checker('multiplicative_cyclic').integer('cycles', cycles, 1), o);
}
