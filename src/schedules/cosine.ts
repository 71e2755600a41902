/**
 * Cosine annealing (PyTorch CosineAnnealingLR) and cosine with warm restarts (SGDR,
 * Loshchilov & Hutter 2017), using timm's closed form for the cycle index so that the cycle
 * multiplier may be any positive number, including non-integers and values below 1.
 */
import { defineSchedule, type Schedule } from './types.js';
import { checker } from './validate.js';

/** min + (max - min) * (1 + cos(pi * frac)) / 2, frac in [0, 1]. */
export function cosineBetween(max: number, min: number, frac: number): number {
  return min + 0.5 * (max - min) * (1 + Math.cos(Math.PI * frac));
}

/**
 * PyTorch CosineAnnealingLR's closed form, eta_min + (base - eta_min)(1 + cos(pi t / tMax)) / 2,
 * reaching min at t = tMax. anneal then HOLDS min (timm's behaviour with cycle_limit = 1);
 * PyTorch's formula would rise again after tMax, which is never what a run wants.
 */
export function cosineAnnealing(opts: { base: number; tMax: number; min?: number }): Schedule {
  const check = checker('cosine');
  const base = check.finite('base', opts.base);
  const tMax = check.integer('tMax', opts.tMax, 1);
  const min = check.finite('min', opts.min ?? 0);
  return defineSchedule('cosine', (t) => (t >= tMax ? min : cosineBetween(base, min, t / tMax)));
}

/** Where step t falls among cycles of lengths t0, t0*m, t0*m^2, ... */
export interface CyclePosition {
  /** 0-based cycle index; Infinity once t is past every cycle (possible only for m < 1). */
  readonly index: number;
  /** Length of this cycle (steps, may be fractional). */
  readonly length: number;
  /** Steps since this cycle started (may be fractional when lengths are). */
  readonly offset: number;
}

/** Start of cycle i: t0 * (1 - m^i) / (1 - m), or i * t0 when m = 1. */
function cycleStart(i: number, t0: number, m: number): number {
  return m === 1 ? i * t0 : (t0 * (1 - m ** i)) / (1 - m);
}

/**
 * timm's closed form: i = floor(log(1 - t/t0 * (1 - m)) / log(m)). The logarithm can land a
 * hair below an integer exactly at a restart (t0 = 16, m = 1.25: the restart at step 61 gives
 * 2.9999999999999996), which would put the restart step at the END of the previous cycle; anneal corrects the index
 * against the cycle starts, within a relative tolerance of 1e-9, where timm does not.
 */
export function geometricCycle(t: number, t0: number, m: number): CyclePosition {
  const tolerance = 1e-9 * Math.max(1, t);
  let index: number;
  if (m === 1) {
    index = Math.floor(t / t0);
  } else {
    const arg = 1 - (t / t0) * (1 - m);
    // For m < 1 the cycles sum to t0 / (1 - m): past that, every cycle is over.
    if (arg <= tolerance) return { index: Infinity, length: 0, offset: 0 };
    index = Math.max(0, Math.floor(Math.log(arg) / Math.log(m)));
  }
  while (cycleStart(index + 1, t0, m) <= t + tolerance) index++;
  while (index > 0 && cycleStart(index, t0, m) > t + tolerance) index--;
  const offset = Math.max(0, t - cycleStart(index, t0, m));
  return { index, length: t0 * m ** index, offset };
}

export interface SgdrOptions {
  /** Peak value of the first cycle. */
  base: number;
  /** Length of the first cycle in steps (> 0; need not be an integer when tMult is not). */
  t0: number;
  /** Cycle length multiplier (timm cycle_mul, PyTorch T_mult), any number > 0. Default 1. */
  tMult?: number;
  /** Value at the bottom of every cycle, and after the cycle limit. Default 0. */
  min?: number;
  /** Peak of cycle i is base * decay^i (timm cycle_decay). Default 1. */
  decay?: number;
  /** Number of cycles run; after them the value stays at min. Default Infinity. */
  cycleLimit?: number;
  /** k-decay exponent (Zhang & Li 2020): cos(pi * t_curr^k / t_i^k). Default 1. */
  kDecay?: number;
}

/**
 * SGDR / cosine with warm restarts, timm CosineLRScheduler semantics without its warmup
 * (use withWarmup) and noise. Defaults differ from timm in one place: cycleLimit defaults to
 * Infinity (PyTorch CosineAnnealingWarmRestarts), since timm's default of 1 is plain cosine.
 * With tMult < 1 the cycles shrink and sum to t0 / (1 - tMult) steps; after that the value
 * is min (timm raises a math domain error there).
 */
export function sgdr(opts: SgdrOptions): Schedule {
  const check = checker('sgdr');
  const base = check.finite('base', opts.base);
  const t0 = check.positive('t0', opts.t0);
  const tMult = check.positive('tMult', opts.tMult ?? 1);
  const min = check.finite('min', opts.min ?? 0);
  const decay = check.positive('decay', opts.decay ?? 1);
  const cycleLimit = opts.cycleLimit ?? Infinity;
  if (cycleLimit !== Infinity) check.integer('cycleLimit', cycleLimit, 1);
  const k = check.positive('kDecay', opts.kDecay ?? 1);
  return defineSchedule('sgdr', (t) => {
    const { index, length, offset } = geometricCycle(t, t0, tMult);
    if (index >= cycleLimit) return min;
    const peak = base * decay ** index;
    return cosineBetween(peak, min, offset ** k / length ** k);
  });
}
