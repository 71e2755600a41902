/**
 * Cyclical schedules for hyper-parameters other than the learning rate, after Leslie N. Smith,
 * "General Cyclical Training of Neural Networks" (arXiv 2202.08835, 2022): training starts and
 * ends "easy" and is "hard" in the middle epochs. The paper's experiments (code:
 * github.com/lnsmith54/CFL, TIMM/train.py) run ONE cycle over the whole run:
 *
 *   eta falls linearly from 1 to 0 at 1/factor of the run, then rises back to 1 at its end
 *   (`--cyclical_factor`, 2 = symmetric), and value = eta * easy + (1 - eta) * hard, with
 *   - weight decay: easy = wd_min, hard = wd_max (low-high-low; README example 1e-5 / 8e-5),
 *   - softmax temperature: easy = T_min, hard = T_max ("recommended" 0.5, default max 2),
 *   - gradient-clip threshold: easy = clip_min, hard = clip_max ("recommended" 0.5, default 100).
 *
 * The paper proposes cyclical batch size without an experiment in that code. anneal's preset
 * takes the large batch as the easy end (large at the start and end, small in the middle),
 * because small batches add gradient noise, i.e. regularisation — Smith's own reading in "A
 * disciplined approach to neural network hyper-parameters" (2018). That direction is anneal's
 * inference: pass the values the other way round for the opposite schedule.
 *
 * Differences from the CFL code: anneal updates every step (CFL once per epoch) and uses the
 * continuous V above (CFL normalises by epochs - 1 and switches branches at epochs/factor,
 * which leaves a small jump for factor != 2).
 */
import { defineSchedule, type Schedule } from './types.js';
import { checker } from './validate.js';

export type CycleShape = 'triangle' | 'cosine';

/**
 * Position in [0, 1] within a cycle: 0 at the cycle's start and end, 1 at fraction `peakAt`
 * of it; linear between ('triangle') or eased by a half cosine ('cosine').
 */
function cycleHeight(
  t: number,
  cycleSteps: number,
  phase: number,
  peakAt: number,
  shape: CycleShape,
): number {
  const u = ((t % cycleSteps) / cycleSteps + phase) % 1;
  const triangle = u < peakAt ? u / peakAt : (1 - u) / (1 - peakAt);
  return shape === 'cosine' ? (1 - Math.cos(Math.PI * triangle)) / 2 : triangle;
}

export interface CyclicalOptions {
  /** Value at the start and end of every cycle. */
  min: number;
  /** Value at the peak of every cycle (>= min). */
  max: number;
  /** Length of one cycle in steps. */
  cycleSteps: number;
  /** 'triangle' (linear up and down) or 'cosine'. Default 'triangle'. */
  shape?: CycleShape;
  /** Shift, as a fraction of a cycle in [0, 1): 0.5 starts at the peak. Default 0. */
  phase?: number;
  /** Where in the cycle the peak is, as a fraction in (0, 1). Default 0.5. */
  peakAt?: number;
  /** Round values to integers (Math.round, halves up), e.g. for batch sizes. Default false. */
  round?: boolean;
}

interface CycleCommon {
  cycleSteps: number;
  shape: CycleShape;
  phase: number;
  peakAt: number;
  round: boolean;
}

function checkCommon(name: string, opts: Partial<CycleCommon>, cycleSteps: unknown): CycleCommon {
  const check = checker(name);
  return {
    cycleSteps: check.integer('cycleSteps', cycleSteps, 1),
    shape: check.oneOf('shape', opts.shape ?? 'triangle', ['triangle', 'cosine'] as const),
    phase: check.inRange('phase', opts.phase ?? 0, 0, 1, ')'),
    peakAt: check.inRange('peakAt', opts.peakAt ?? 0.5, 0, 1, '()'),
    round: check.boolean('round', opts.round ?? false),
  };
}

function between(name: string, from: number, to: number, c: CycleCommon): Schedule {
  return defineSchedule(name, (t) => {
    const v = from + (to - from) * cycleHeight(t, c.cycleSteps, c.phase, c.peakAt, c.shape);
    return c.round ? Math.round(v) : v;
  });
}

/** A generic repeating cycle between min and max (min at each cycle's start, max at peakAt). */
export function cyclical(opts: CyclicalOptions): Schedule {
  const check = checker('cyclical');
  const min = check.finite('min', opts.min);
  const max = check.finite('max', opts.max);
  check.ordered('min', min, 'max', max);
  return between('cyclical', min, max, checkCommon('cyclical', opts, opts.cycleSteps));
}

export interface EasyHardEasyOptions {
  /** Value at the start and the end of the run. */
  easy: number;
  /** Value at the hardest point, 1/factor of the way through. */
  hard: number;
  /** Length of the run (one cycle) in steps. */
  totalSteps: number;
  /** The CFL code's cyclical_factor: the hard point is at 1/factor of the run. Default 2. */
  factor?: number;
  shape?: CycleShape;
  round?: boolean;
}

/** One easy -> hard -> easy cycle over the run (either order of values). */
export function easyHardEasy(opts: EasyHardEasyOptions, name = 'easy_hard_easy'): Schedule {
  const check = checker(name);
  const easy = check.finite('easy', opts.easy);
  const hard = check.finite('hard', opts.hard);
  const factor = check.finite('factor', opts.factor ?? 2);
  if (!(factor > 1)) throw check.fail('factor', factor, 'a number > 1 (hard point at 1/factor)');
  const common = checkCommon(name, { ...opts, peakAt: 1 / factor }, opts.totalSteps);
  return between(name, easy, hard, common);
}

type Preset = Omit<EasyHardEasyOptions, 'easy' | 'hard' | 'round'>;

/** Cyclical weight decay: low -> high -> low (Smith 2022, Table 1). */
export function cyclicalWeightDecaySchedule(opts: Preset & { min: number; max: number }): Schedule {
  return easyHardEasy({ ...opts, easy: opts.min, hard: opts.max }, 'cyclical_weight_decay');
}

/** Cyclical softmax temperature: logits / T with T low -> high -> low (defaults 0.5 and 2). */
export function cyclicalTemperatureSchedule(
  opts: Preset & { min?: number; max?: number },
): Schedule {
  return easyHardEasy(
    { ...opts, easy: opts.min ?? 0.5, hard: opts.max ?? 2 },
    'cyclical_temperature',
  );
}

/** Cyclical gradient-clip threshold: tight -> loose -> tight (defaults 0.5 and 100). */
export function cyclicalGradClipSchedule(opts: Preset & { min?: number; max?: number }): Schedule {
  return easyHardEasy(
    { ...opts, easy: opts.min ?? 0.5, hard: opts.max ?? 100 },
    'cyclical_grad_clip',
  );
}

/**
 * Cyclical batch size: large -> small -> large, rounded to whole samples (Math.round).
 * Values are integers in [small, large].
 */
export function cyclicalBatchSizeSchedule(
  opts: Preset & { large: number; small: number },
): Schedule {
  const check = checker('cyclical_batch_size');
  const large = check.integer('large', opts.large, 1);
  const small = check.integer('small', opts.small, 1);
  check.ordered('small', small, 'large', large);
  return easyHardEasy({ ...opts, easy: large, hard: small, round: true }, 'cyclical_batch_size');
}
