/**
 * Bag of Tricks (He et al., "Bag of Tricks for Image Classification with Convolutional Neural
 * Networks", CVPR 2019) as a named recipe: the pieces of Trainer options and model options that
 * make up the paper's training refinements, each of which can be switched off for an ablation.
 * See README.md.
 */
import { UsageError } from '../../errors.js';
import type { DecayOptions, ParamVectorOptions } from '../../engine/param-vector.js';
import type { ScheduleSpec } from '../../schedules/index.js';
import type { Method } from '../../train/method.js';
import type { DurationLike } from '../../time/index.js';
import type { TrainerSchedules } from '../../train/trainer.js';
import { labelSmoothing } from '../label-smoothing/index.js';
import { mixup } from '../mixup/index.js';

export const BAG_OF_TRICKS = [
  'warmup',
  'cosine',
  'label-smoothing',
  'mixup',
  'no-bias-decay',
  'zero-init-gamma',
] as const;

export type Trick = (typeof BAG_OF_TRICKS)[number];

export interface BagOfTricksOptions {
  /** Linear warmup length (default '0.05dur', about the paper's 5 of 120 epochs). */
  warmup?: DurationLike;
  /** Label smoothing alpha (default 0.1, the paper's epsilon). */
  labelSmoothingAlpha?: number;
  /** Mixup Beta(alpha, alpha) (default 0.2, the paper's value). */
  mixupAlpha?: number;
  /** Tricks to leave out (for ablations), e.g. ['mixup']. Default: none. */
  without?: readonly Trick[];
}

/** What the recipe contributes: spread into TrainerOptions and the model factory's options. */
export interface BagOfTricksRecipe {
  readonly name: 'bag-of-tricks';
  /** The tricks included, in BAG_OF_TRICKS order. */
  readonly tricks: readonly Trick[];
  /** TrainerOptions.schedules: lr as a multiplier of the optimizer's base lr. */
  readonly schedules: TrainerSchedules;
  /** TrainerOptions.methods. */
  readonly methods: readonly Method[];
  /** TrainerOptions.paramVector: which weights get weight decay. */
  readonly paramVector: ParamVectorOptions;
  /** Options for src/models' resnet (createModel('resnet', { ...opts, ...modelOptions })). */
  readonly modelOptions: { zeroInitLastBnGamma: boolean };
}

/** Weight decay on every weight (the baseline the paper's "no bias decay" is compared with). */
const DECAY_EVERYTHING: DecayOptions = { kinds: { bias: 1, norm: 1 } };
/** No decay on biases and BN gamma/beta: ParamVector's default, spelled out. */
const NO_BIAS_DECAY: DecayOptions = { kinds: { bias: 0, norm: 0 } };

function checkWithout(without: unknown): Set<Trick> {
  const list = without ?? [];
  if (!Array.isArray(list)) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `bag-of-tricks: without = ${JSON.stringify(without)} is not valid: expected a list of ${BAG_OF_TRICKS.join(', ')}`,
    );
  }
  for (const trick of list) {
    if (!(BAG_OF_TRICKS as readonly unknown[]).includes(trick)) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `bag-of-tricks: without = ${JSON.stringify(trick)} is not valid: expected one of ${BAG_OF_TRICKS.join(', ')}`,
      );
    }
  }
  return new Set(list as Trick[]);
}

/** The lr multiplier spec: cosine from 1 to 0 over the rest of the run after a linear warmup. */
export function bagOfTricksLrSpec(tricks: readonly Trick[], warmup: DurationLike): ScheduleSpec {
  const base: ScheduleSpec = tricks.includes('cosine')
    ? { name: 'cosine' }
    : { name: 'constant', value: 1 };
  return tricks.includes('warmup') ? { ...base, warmup, warmupStartFactor: 0 } : base;
}

export function bagOfTricks(opts: BagOfTricksOptions = {}): BagOfTricksRecipe {
  const without = checkWithout(opts.without);
  const tricks = BAG_OF_TRICKS.filter((t) => !without.has(t));
  const has = (t: Trick) => tricks.includes(t);
  const methods: Method[] = [];
  // Mixup first: label smoothing then smooths the mixed targets, as in the paper's combination.
  if (has('mixup')) methods.push(mixup({ alpha: opts.mixupAlpha ?? 0.2 }));
  if (has('label-smoothing'))
    methods.push(labelSmoothing({ alpha: opts.labelSmoothingAlpha ?? 0.1 }));
  return {
    name: 'bag-of-tricks',
    tricks,
    schedules: { lr: bagOfTricksLrSpec(tricks, opts.warmup ?? '0.05dur') },
    methods,
    paramVector: { decay: has('no-bias-decay') ? NO_BIAS_DECAY : DECAY_EVERYTHING },
    modelOptions: { zeroInitLastBnGamma: has('zero-init-gamma') },
  };
}
