/**
 * Every training method by the name recipes and the CLI use (`label-smoothing`, `mixup`, ...),
 * with the factory that builds it from a plain options object. Each factory checks its own
 * options and names the bad one.
 */
import { UsageError } from '../errors.js';
import type { Method } from '../train/method.js';
import {
  ema,
  fge,
  swa,
  type EmaOptions,
  type FgeOptions,
  type SwaOptions,
} from '../averaging/index.js';
import { batchAugmentation, type BatchAugmentationOptions } from './batch-augmentation/index.js';
import { blurPool, type BlurPoolOptions } from './blurpool/index.js';
import {
  cyclicalAugmentation,
  type CyclicalAugmentationOptions,
} from './cyclical-augmentation/index.js';
import { cutmix, type CutmixOptions } from './cutmix/index.js';
import { cyclicalGradClip, gradClip, type GradClipOptions } from './cyclical-grad-clip/index.js';
import { cyclicalWeightDecay, type CyclicalValueOptions } from './cyclical-weight-decay/index.js';
import { cyclicalBatchSize, type CyclicalBatchSizeOptions } from './cyclical-batch-size/index.js';
import { earlyStopping, type EarlyStoppingOptions } from './early-stopping/index.js';
import {
  cyclicalFocalLoss,
  focalLoss,
  type CyclicalFocalLossOptions,
  type FocalLossOptions,
} from './focal-loss/index.js';
import { labelSmoothing, type LabelSmoothingOptions } from './label-smoothing/index.js';
import { mixup, type MixupOptions } from './mixup/index.js';
import { nanGuard, type NanGuardOptions } from './nan-guard/index.js';
import { gradualPruning, type GradualPruningOptions } from './gradual-pruning/index.js';
import { softmaxTemperature, type SoftmaxTemperatureOptions } from './softmax-temperature/index.js';
import { adversarial, type AdversarialOptions } from './adversarial/index.js';
import { noilin, type NoilinOptions } from './noilin/index.js';
import { alasca, type AlascaOptions } from './alasca/index.js';
import { shrinkAndPerturb, type ShrinkPerturbOptions } from './shrink-perturb/index.js';
import { reinit, type ReinitOptions } from './reinit/index.js';

export interface MethodEntry {
  readonly name: string;
  readonly summary: string;
  /** What `--methods name` uses for the options its factory requires (the usual values). */
  readonly defaults: Readonly<Record<string, unknown>>;
  create(options?: Record<string, unknown>): Method;
}

function entry<T>(
  name: string,
  summary: string,
  factory: (options: T) => Method,
  defaults: Partial<T> = {},
): MethodEntry {
  return Object.freeze({
    name,
    summary,
    defaults: Object.freeze({ ...defaults }),
    create: (options = {}) => factory({ ...defaults, ...options } as T),
  });
}

export const METHODS: Readonly<Record<string, MethodEntry>> = Object.freeze(
  Object.fromEntries(
    [
      entry<LabelSmoothingOptions>(
        'label-smoothing',
        'soft targets (1-a) y + a/K',
        labelSmoothing,
        {
          alpha: 0.1,
        },
      ),
      entry<SoftmaxTemperatureOptions>(
        'softmax-temperature',
        'cyclical softmax temperature on the logits (general cyclical training)',
        softmaxTemperature,
      ),
      entry<FocalLossOptions>('focal-loss', 'focal loss -(1-p_t)^gamma log p_t', focalLoss, {
        gamma: 2,
      }),
      entry<CyclicalFocalLossOptions>(
        'cyclical-focal-loss',
        'cyclical focal loss (Smith 2022)',
        cyclicalFocalLoss,
      ),
      entry<BatchAugmentationOptions>(
        'batch-augmentation',
        'each sample M times per batch, independently augmented',
        batchAugmentation,
        { m: 2 },
      ),
      entry<CyclicalAugmentationOptions>(
        'cyclical-augmentation',
        'random shifts whose size goes easy-hard-easy over the run (general cyclical training)',
        cyclicalAugmentation,
        { min: 0, max: 2 },
      ),
      entry<MixupOptions>('mixup', 'convex combinations of samples and targets', mixup, {
        alpha: 0.2,
      }),
      entry<CutmixOptions>('cutmix', 'pasted boxes from other samples, targets by area', cutmix, {
        alpha: 1,
      }),
      entry<BlurPoolOptions>(
        'blurpool',
        'anti-aliased downsampling (the recipe transforms the model first)',
        blurPool,
      ),
      entry<CyclicalValueOptions>(
        'cyclical-weight-decay',
        'weight decay low-high-low over the run (general cyclical training)',
        cyclicalWeightDecay,
        { min: 0.005, max: 0.05 }, // around AdamW's default 0.01
      ),
      entry<CyclicalBatchSizeOptions>(
        'cyclical-batch-size',
        'batch size large-small-large over the run (general cyclical training)',
        cyclicalBatchSize,
      ),
      entry<GradClipOptions>('grad-clip', 'global-norm gradient clipping', gradClip, {
        maxNorm: 1,
      }),
      entry<CyclicalValueOptions>(
        'cyclical-grad-clip',
        'global-norm clipping with a cyclical threshold (general cyclical training)',
        cyclicalGradClip,
        { min: 0.5, max: 100 },
      ),
      entry<GradualPruningOptions>(
        'gradual-pruning',
        'magnitude pruning during training to a target sparsity (Zhu & Gupta cubic schedule)',
        gradualPruning,
        { target: 0.5 },
      ),
      entry<SwaOptions>(
        'swa',
        'stochastic weight averaging with SWALR and a BatchNorm refresh',
        swa,
      ),
      entry<EmaOptions>('ema', 'exponential moving average of the weights, evaluated apart', ema),
      entry<FgeOptions>(
        'fge',
        'fast geometric ensembling: short lr cycles, snapshots, softmax ensemble',
        fge,
      ),
      entry<NanGuardOptions>('nan-guard', 'skip or stop on a NaN/Inf gradient or loss', nanGuard),
      entry<EarlyStoppingOptions>(
        'early-stopping',
        'stop when a metric stops improving; restore the best weights',
        earlyStopping,
      ),
      entry<AdversarialOptions>(
        'adversarial',
        'PGD/FGSM adversarial training, robust accuracy, early stop on it',
        adversarial,
        { epsilon: 0.1, steps: 3 },
      ),
      entry<NoilinOptions>(
        'noilin',
        'noisy-label injection at a rate that rises when (robust) accuracy drops',
        noilin,
      ),
      entry<AlascaOptions>(
        'alasca',
        'adaptive label smoothing on auxiliary heads (the recipe adds the heads)',
        alasca,
      ),
      entry<ShrinkPerturbOptions>(
        'shrink-perturb',
        'w <- lambda w + sigma n every period',
        shrinkAndPerturb,
      ),
      entry<ReinitOptions>(
        'reinit',
        're-draw the last k layers, or layer-wise, every period',
        reinit,
      ),
    ].map((e) => [e.name, e]),
  ),
);

export function methodNames(): string[] {
  return Object.keys(METHODS);
}

/** Builds the method called `name`; an unknown name is an error listing the known ones. */
export function createMethod(name: string, options: Record<string, unknown> = {}): Method {
  const found = METHODS[name];
  if (!found) {
    throw new UsageError(
      'ANNEAL_UNKNOWN_METHOD',
      `unknown method '${name}': expected one of ${methodNames().join(', ')}`,
    );
  }
  return found.create(options);
}

/**
 * Whether the method called `name` varies the batch size (Method.batchSize): the Trainer then
 * plans a run's batches from it, which tools built on steps of one batch size (tradeoff curves,
 * search rungs) cannot hold.
 */
export function variesBatchSize(name: string): boolean {
  return typeof createMethod(name).batchSize === 'function';
}
