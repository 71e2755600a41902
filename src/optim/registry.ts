/**
 * The optimizer registry (timm style): frozen records of name, factory, whether the optimizer has
 * betas or momentum, and defaults. `lookahead_<name>` is parsed as Lookahead around `<name>`.
 * Names follow timm: 'sgd' and 'nesterov' are SGD with Nesterov momentum 0.9, 'momentum' is SGD
 * with classical momentum; a trailing 'w' means decoupled weight decay.
 */
import type { ParamVector } from '../engine/param-vector.js';
import { UsageError } from '../errors.js';
import type { FlatOps } from '../kernels/index.js';
import { Adam } from './adam.js';
import { EntropySgd } from './entropy-sgd.js';
import { ReplicatedSgd } from './replicated-sgd.js';
import { Lookahead } from './lookahead.js';
import { Sgd } from './sgd.js';
import type { Optimizer } from './types.js';
import { checkBoolean } from './validate.js';

/** Everything createOptimizer accepts; each optimizer takes the fields of its defaults. */
export interface OptimizerOptions {
  lr?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Lookahead only: inner steps between syncs (default 6, as timm). */
  lookaheadK?: number;
  /** Lookahead only: slow-weights step size (default 0.5, as timm). */
  lookaheadAlpha?: number;
  /** entropy_sgd only (src/optim/entropy-sgd.ts): inner Langevin loop and coupling. */
  langevinSteps?: number;
  gamma?: number;
  scoping?: number;
  langevinLr?: number;
  noise?: number;
  langevinAlpha?: number;
  langevinSeed?: number;
  /** replicated_sgd only (src/optim/replicated-sgd.ts); gamma and scoping as above. */
  replicas?: number;
  initSigma?: number;
  replicaSeed?: number;
}

export type OptimizerSpec = OptimizerOptions & { name: string };

type Options = Required<OptimizerOptions>;

export interface OptimizerRecord {
  readonly name: string;
  readonly description: string;
  readonly hasBetas: boolean;
  readonly hasMomentum: boolean;
  readonly defaults: Readonly<OptimizerOptions>;
  /** Builds the optimizer from the defaults merged with the user's options. */
  readonly factory: (ops: FlatOps, length: number, options: Options) => Optimizer;
}

export const LOOKAHEAD_DEFAULTS = Object.freeze({ lookaheadK: 6, lookaheadAlpha: 0.5 });

function adamRecord(
  name: string,
  description: string,
  decoupled: boolean,
  amsgrad: boolean,
): OptimizerRecord {
  return Object.freeze({
    name,
    description,
    hasBetas: true,
    hasMomentum: false,
    // PyTorch's defaults; AdamW's weight decay is torch.optim.AdamW's 1e-2.
    defaults: Object.freeze({
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: decoupled ? 1e-2 : 0,
      amsgrad,
    }),
    factory: (ops: FlatOps, length: number, o: Options) => {
      checkBoolean(name, 'amsgrad', o.amsgrad);
      const hyper = {
        lr: o.lr,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        weightDecay: o.weightDecay,
      };
      return new Adam(name, ops, length, hyper, { decoupled, amsgrad: o.amsgrad });
    },
  });
}

function sgdRecord(
  name: string,
  description: string,
  decoupled: boolean,
  nesterov: boolean,
): OptimizerRecord {
  return Object.freeze({
    name,
    description,
    hasBetas: false,
    hasMomentum: true,
    defaults: Object.freeze({ lr: 1e-2, momentum: 0.9, dampening: 0, nesterov, weightDecay: 0 }),
    factory: (ops: FlatOps, length: number, o: Options) => {
      const hyper = {
        lr: o.lr,
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        weightDecay: o.weightDecay,
      };
      return new Sgd(name, ops, length, hyper, decoupled);
    },
  });
}

const RECORDS: readonly OptimizerRecord[] = [
  sgdRecord('sgd', 'SGD with Nesterov momentum and L2 weight decay (timm "sgd")', false, true),
  sgdRecord('nesterov', 'SGD with Nesterov momentum and L2 weight decay', false, true),
  sgdRecord('momentum', 'SGD with classical momentum and L2 weight decay', false, false),
  sgdRecord('sgdw', 'SGD with Nesterov momentum and decoupled weight decay (SGDW)', true, true),
  sgdRecord('momentumw', 'SGD with classical momentum and decoupled weight decay', true, false),
  adamRecord('adam', 'Adam with L2 weight decay added to the gradient', false, false),
  adamRecord('adamw', 'AdamW: Adam with decoupled weight decay', true, false),
  adamRecord('amsgrad', 'Adam with AMSGrad and L2 weight decay', false, true),
  adamRecord('adamw_amsgrad', 'AdamW with AMSGrad', true, true),
  Object.freeze({
    name: 'entropy_sgd',
    description: 'Entropy-SGD: L inner Langevin steps, then a Nesterov SGD step on x - mu',
    hasBetas: false,
    hasMomentum: true,
    // Chaudhari et al.'s code: L = 20, gamma 0.03, scoping 1e-3, eta' 0.1, noise 1e-4, mu 0.75/0.25;
    // its outer step (python/train.py): lr 1, Nesterov momentum 0.9.
    defaults: Object.freeze({
      lr: 1,
      momentum: 0.9,
      dampening: 0,
      nesterov: true,
      weightDecay: 0,
      langevinSteps: 20,
      gamma: 0.03,
      scoping: 1e-3,
      langevinLr: 0.1,
      noise: 1e-4,
      langevinAlpha: 0.25,
      langevinSeed: 0,
    }),
    factory: (ops: FlatOps, length: number, o: Options) =>
      new EntropySgd('entropy_sgd', ops, length, {
        lr: o.lr,
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        weightDecay: o.weightDecay,
        langevinSteps: o.langevinSteps,
        gamma: o.gamma,
        scoping: o.scoping,
        langevinLr: o.langevinLr,
        noise: o.noise,
        langevinAlpha: o.langevinAlpha,
        langevinSeed: o.langevinSeed,
      }),
  }),
  Object.freeze({
    name: 'replicated_sgd',
    description:
      'Replicated SGD: y replicas coupled to their centre, stepped in turn; the centre is the solution',
    hasBetas: false,
    hasMomentum: true,
    // src/flatness/replicated.ts's defaults (Pittorino et al.'s y = 3, gamma growing 1% a round).
    defaults: Object.freeze({
      lr: 0.05,
      momentum: 0.9,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
      replicas: 3,
      gamma: 1e-3,
      scoping: 1e-2,
      initSigma: 0.01,
      replicaSeed: 0,
    }),
    factory: (ops: FlatOps, length: number, o: Options) =>
      new ReplicatedSgd('replicated_sgd', ops, length, {
        lr: o.lr,
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        weightDecay: o.weightDecay,
        replicas: o.replicas,
        gamma: o.gamma,
        scoping: o.scoping,
        initSigma: o.initSigma,
        replicaSeed: o.replicaSeed,
      }),
  }),
];

export const OPTIMIZERS: ReadonlyMap<string, OptimizerRecord> = new Map(
  RECORDS.map((r) => [r.name, r]),
);

const LOOKAHEAD_PREFIX = 'lookahead_';

/** Every name createOptimizer accepts, lookahead forms included. */
export function optimizerNames(): string[] {
  const names = [...OPTIMIZERS.keys()];
  return [...names, ...names.map((n) => LOOKAHEAD_PREFIX + n)];
}

function unknownName(name: string): UsageError {
  return new UsageError(
    'ANNEAL_UNKNOWN_OPTIMIZER',
    `optimizer '${name}' is not registered; the optimizers are ${[...OPTIMIZERS.keys()].join(', ')}, ` +
      `each also as lookahead_<name> (e.g. lookahead_adamw).`,
  );
}

/** The record of a plain or lookahead_ name, and whether it is wrapped. */
export function resolveOptimizer(name: string): { record: OptimizerRecord; lookahead: boolean } {
  const normalized = name.trim().toLowerCase();
  const lookahead = normalized.startsWith(LOOKAHEAD_PREFIX);
  const record = OPTIMIZERS.get(lookahead ? normalized.slice(LOOKAHEAD_PREFIX.length) : normalized);
  if (!record) throw unknownName(name);
  return { record, lookahead };
}

/**
 * Builds a registered optimizer over `pv` on `ops` (which must be the ParamVector's kernels), from
 * a name or a spec `{ name, ...options }`, with `overrides` on top of the spec and the defaults.
 * Unknown names and options, and values out of range, throw UsageError naming them.
 */
export function createOptimizer(
  nameOrSpec: string | OptimizerSpec,
  pv: ParamVector,
  ops: FlatOps = pv.ops,
  overrides: OptimizerOptions = {},
): Optimizer {
  const { name, ...specOptions } =
    typeof nameOrSpec === 'string' ? { name: nameOrSpec } : nameOrSpec;
  const { record, lookahead } = resolveOptimizer(name);
  const fullName = lookahead ? LOOKAHEAD_PREFIX + record.name : record.name;
  if (ops !== pv.ops) {
    throw new UsageError(
      'ANNEAL_BAD_OPTIMIZER_OPTION',
      `${fullName}: the kernels passed (${ops.name}) are not the ParamVector's kernels instance ` +
        `(${pv.ops.name}); pass pv.ops, so state and parameters live on one backend.`,
    );
  }
  const defaults = { ...record.defaults, ...(lookahead ? LOOKAHEAD_DEFAULTS : {}) };
  const given = { ...specOptions, ...overrides };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults)) {
      throw new UsageError(
        'ANNEAL_BAD_OPTIMIZER_OPTION',
        `${fullName}: '${key}' (${String(value)}) is not an option of ${fullName}; its options ` +
          `are ${Object.keys(defaults).join(', ')}.`,
      );
    }
  }
  const options = { ...defaults, ...withoutUndefined(given) } as Options;
  const inner = record.factory(ops, pv.length, options);
  if (!lookahead) return inner;
  try {
    return new Lookahead(inner, ops, { k: options.lookaheadK, alpha: options.lookaheadAlpha });
  } catch (e) {
    inner.dispose();
    throw e;
  }
}

function withoutUndefined(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
