/**
 * Every training method by the name recipes and the CLI use (`label-smoothing`, `mixup`, ...),
 * with the factory that builds it from a plain options object. Each entry knows its factory's
 * option keys and refuses any other (a misspelt key is an error, not a silent default); each
 * factory checks its own options' values and names the bad one.
 */
import { UsageError } from '../errors.js';
import { checkKnownKeys, invalidOption, optionKeys, type OptionKeys } from '../options.js';
import type { Method } from '../train/method.js';
import { ema, fge, swa } from '../averaging/index.js';
import { batchAugmentation } from './batch-augmentation/index.js';
import { blurPool } from './blurpool/index.js';
import { cyclicalAugmentation } from './cyclical-augmentation/index.js';
import { cutmix } from './cutmix/index.js';
import { cyclicalGradClip, gradClip } from './cyclical-grad-clip/index.js';
import { cyclicalWeightDecay } from './cyclical-weight-decay/index.js';
import { cyclicalBatchSize } from './cyclical-batch-size/index.js';
import { earlyStopping } from './early-stopping/index.js';
import { cyclicalFocalLoss, focalLoss } from './focal-loss/index.js';
import { labelSmoothing } from './label-smoothing/index.js';
import { mixup } from './mixup/index.js';
import { nanGuard } from './nan-guard/index.js';
import { gradualPruning } from './gradual-pruning/index.js';
import { softmaxTemperature } from './softmax-temperature/index.js';
import { adversarial } from './adversarial/index.js';
import { noilin } from './noilin/index.js';
import { alasca } from './alasca/index.js';
import { shrinkAndPerturb } from './shrink-perturb/index.js';
import { reinit } from './reinit/index.js';

export interface MethodEntry {
  readonly name: string;
  readonly summary: string;
  /** What `--methods name` uses for the options its factory requires (the usual values). */
  readonly defaults: Readonly<Record<string, unknown>>;
  /**
   * The option keys create() accepts: `name` (a recipe's `{ name, ...options }` may come whole)
   * and every key of the factory's options type. Any other key is an error naming it.
   */
  readonly keys: readonly string[];
  create(options?: Record<string, unknown>): Method;
}

/** The options object a factory takes. */
type OptionsOf<F> = F extends (options: infer T) => Method ? NonNullable<T> : never;

/** OptionKeys of a factory's options; never (a compile error) when they are not a closed set. */
type FactoryKeys<F> = string extends keyof OptionsOf<F> ? never : OptionKeys<OptionsOf<F>>;

/**
 * A registry entry. `keys` lists every option of the factory's own options type, each marked
 * `true`; it is typed from the factory, so the compiler refuses a list that misses an option
 * or names one the factory does not take.
 */
function entry<F extends (options: never) => Method>(
  name: string,
  summary: string,
  factory: F,
  keys: FactoryKeys<F>,
  defaults: Partial<OptionsOf<F>> = {},
): MethodEntry {
  const known = Object.freeze(['name', ...optionKeys<OptionsOf<F>>(keys)]);
  return Object.freeze({
    name,
    summary,
    defaults: Object.freeze({ ...defaults }),
    keys: known,
    create: (options: Record<string, unknown> = {}) => {
      checkKnownKeys(name, options, known);
      const { name: given, ...rest } = options;
      if (given !== undefined && given !== name) {
        throw invalidOption(name, 'name', given, `'${name}' (the method's own name) or nothing`);
      }
      return (factory as unknown as (options: unknown) => Method)({ ...defaults, ...rest });
    },
  });
}

export const METHODS: Readonly<Record<string, MethodEntry>> = Object.freeze(
  Object.fromEntries(
    [
      entry(
        'label-smoothing',
        'soft targets (1-a) y + a/K',
        labelSmoothing,
        { alpha: true },
        {
          alpha: 0.1,
        },
      ),
      entry(
        'softmax-temperature',
        'cyclical softmax temperature on the logits (general cyclical training)',
        softmaxTemperature,
        { schedule: true, min: true, max: true, factor: true },
      ),
      entry(
        'focal-loss',
        'focal loss -(1-p_t)^gamma log p_t',
        focalLoss,
        { gamma: true, alpha: true },
        { gamma: 2 },
      ),
      entry('cyclical-focal-loss', 'cyclical focal loss (Smith 2022)', cyclicalFocalLoss, {
        gammaHigh: true,
        gammaLow: true,
        factor: true,
      }),
      entry(
        'batch-augmentation',
        'each sample M times per batch, independently augmented',
        batchAugmentation,
        { m: true, pad: true, flip: true, translate: true, padMode: true },
        { m: 2 },
      ),
      entry(
        'cyclical-augmentation',
        'random shifts whose size goes easy-hard-easy over the run (general cyclical training)',
        cyclicalAugmentation,
        { min: true, max: true, factor: true, shape: true, flip: true, totalSteps: true },
        { min: 0, max: 2 },
      ),
      entry(
        'mixup',
        'convex combinations of samples and targets',
        mixup,
        { alpha: true, perSample: true },
        { alpha: 0.2 },
      ),
      entry(
        'cutmix',
        'pasted boxes from other samples, targets by area',
        cutmix,
        { alpha: true },
        { alpha: 1 },
      ),
      entry(
        'blurpool',
        'anti-aliased downsampling (the recipe transforms the model first)',
        blurPool,
        { filterSize: true, padding: true, replaceConvs: true, replacePools: true },
      ),
      entry(
        'cyclical-weight-decay',
        'weight decay low-high-low over the run (general cyclical training)',
        cyclicalWeightDecay,
        { min: true, max: true, factor: true, shape: true, totalSteps: true },
        { min: 0.005, max: 0.05 }, // around AdamW's default 0.01
      ),
      entry(
        'cyclical-batch-size',
        'batch size large-small-large over the run (general cyclical training)',
        cyclicalBatchSize,
        { max: true, min: true, factor: true, shape: true },
      ),
      entry(
        'grad-clip',
        'global-norm gradient clipping',
        gradClip,
        { maxNorm: true },
        { maxNorm: 1 },
      ),
      entry(
        'cyclical-grad-clip',
        'global-norm clipping with a cyclical threshold (general cyclical training)',
        cyclicalGradClip,
        { min: true, max: true, factor: true, shape: true, totalSteps: true },
        { min: 0.5, max: 100 },
      ),
      entry(
        'gradual-pruning',
        'magnitude pruning during training to a target sparsity (Zhu & Gupta cubic schedule)',
        gradualPruning,
        {
          target: true,
          initial: true,
          start: true,
          end: true,
          frequency: true,
          criterion: true,
          seed: true,
          kinds: true,
          includeFirst: true,
          includeLast: true,
          include: true,
          exclude: true,
        },
        { target: 0.5 },
      ),
      entry('swa', 'stochastic weight averaging with SWALR and a BatchNorm refresh', swa, {
        start: true,
        interval: true,
        lr: true,
        anneal: true,
        annealStrategy: true,
        swapAtEnd: true,
        evalAverage: true,
        bnData: true,
        bnBatchSize: true,
      }),
      entry('ema', 'exponential moving average of the weights, evaluated apart', ema, {
        decay: true,
        halfLife: true,
        interval: true,
        swapAtEnd: true,
        bnData: true,
      }),
      entry('fge', 'fast geometric ensembling: short lr cycles, snapshots, softmax ensemble', fge, {
        start: true,
        cycle: true,
        lr1: true,
        lr2: true,
        evalEnsemble: true,
      }),
      entry('nan-guard', 'skip or stop on a NaN/Inf gradient or loss', nanGuard, {
        policy: true,
        readEvery: true,
      }),
      entry(
        'early-stopping',
        'stop when a metric stops improving; restore the best weights',
        earlyStopping,
        { monitor: true, mode: true, patience: true, minDelta: true, restoreBest: true },
      ),
      entry(
        'adversarial',
        'PGD/FGSM adversarial training, robust accuracy, early stop on it',
        adversarial,
        {
          epsilon: true,
          norm: true,
          steps: true,
          stepSize: true,
          randomStart: true,
          clip: true,
          attack: true,
          evalSteps: true,
          evalLimit: true,
          trainEvalLimit: true,
          earlyStopping: true,
        },
        { epsilon: 0.1, steps: 3 },
      ),
      entry(
        'noilin',
        'noisy-label injection at a rate that rises when (robust) accuracy drops',
        noilin,
        { pInit: true, pMax: true, gamma: true, tau: true, capUntil: true, monitor: true },
      ),
      entry(
        'alasca',
        'adaptive label smoothing on auxiliary heads (the recipe adds the heads)',
        alasca,
        { lam: true, wEma: true, temperature: true, warmup: true, layers: true, seed: true },
      ),
      entry('shrink-perturb', 'w <- lambda w + sigma n every period', shrinkAndPerturb, {
        lambda: true,
        sigma: true,
        every: true,
        until: true,
      }),
      entry('reinit', 're-draw the last k layers, or layer-wise, every period', reinit, {
        mode: true,
        k: true,
        every: true,
        until: true,
      }),
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
