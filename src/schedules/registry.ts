/**
 * Schedules from plain JSON specs, timm-style names: `{ name: 'cosine', tMax: '10ep' }`.
 *
 * - Lengths may be durations ('2ep', '500ba', '0.5dur', '12000sp'), resolved to steps once
 *   with the Timeline, or plain numbers of steps.
 * - `base` (or `peak`, `value`) defaults to 1, so a spec without it yields a MULTIPLIER of the
 *   optimizer's own value (Composer's convention); give it to get absolute values.
 * - The main length of a schedule (cosine's tMax, onecycle's totalSteps, ...) defaults to the
 *   rest of the run after warmup; inside `sequential`, to the rest of its segment.
 * - Every spec accepts `warmup` (a duration) and `warmupStartFactor`: a linear warmup prefix.
 * - Unknown names and unknown keys are errors that list what is accepted.
 */
import { UsageError } from '../errors.js';
import { Timeline, type DurationLike } from '../time/index.js';
import type { Schedule } from './types.js';
import { badArgument } from './validate.js';
import {
  constant,
  exponential,
  linear,
  linearToZero,
  multiStep,
  polynomial,
  checkSequence,
  sequential,
  stepDecay,
  withWarmup,
} from './basic.js';
import { cosineAnnealing, sgdr } from './cosine.js';
import { cyclicLR, oneCycle } from './cyclic.js';
import { swalr } from './swa.js';
import { multiplicativeCycleEnds, multiplicativeCyclic } from './multiplicative.js';
import {
  cyclical,
  cyclicalBatchSizeSchedule,
  cyclicalGradClipSchedule,
  cyclicalTemperatureSchedule,
  cyclicalWeightDecaySchedule,
} from './general-cyclical.js';

export interface ScheduleSpec {
  name: string;
  [option: string]: unknown;
}

export interface BuiltSchedule {
  readonly name: string;
  readonly schedule: Schedule;
  /** Momentum in antiphase ('cyclic', 'onecycle' with cycleMomentum). */
  readonly momentum?: Schedule;
  /** 'multiplicative_cyclic': steps completed at each cycle end that fits in the run. */
  readonly cycleEnds?: number[];
}

/** 'value': passed through (the factory checks it); 'duration(s)': resolved to steps. */
type FieldKind = 'value' | 'duration' | 'durations' | 'specs';

// Options are checked by the factories; the registry only resolves durations and names.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = Record<string, any>;

interface BuildContext {
  /** Steps this schedule has after its warmup (undefined when the run's length is unknown). */
  readonly available: number | undefined;
  readonly timeline: Timeline;
  /** The default for a missing main length: `available`, or an error naming the field. */
  rest(field: string): number;
}

interface Entry {
  readonly summary: string;
  readonly fields: Readonly<Record<string, FieldKind>>;
  /** The length that defaults to the rest of the run when missing. */
  readonly lengthField?: string;
  readonly build: (a: Args, ctx: BuildContext) => Omit<BuiltSchedule, 'name'>;
}

const v = 'value' as const;
const d = 'duration' as const;
const withBase = (a: Args): Args & { base: number } => ({ ...a, base: a.base ?? 1 });

const REGISTRY: Readonly<Record<string, Entry>> = Object.freeze({
  constant: {
    summary: 'a constant value',
    fields: { value: v },
    build: (a) => ({ schedule: constant({ value: a.value ?? 1 }) }),
  },
  step: {
    summary: 'StepLR: base * gamma^floor(t / stepSize)',
    fields: { base: v, stepSize: d, gamma: v },
    build: (a) => ({ schedule: stepDecay({ ...withBase(a), stepSize: a.stepSize }) }),
  },
  multistep: {
    summary: 'MultiStepLR: decay by gamma at each milestone',
    fields: { base: v, milestones: 'durations', gamma: v },
    build: (a) => ({ schedule: multiStep({ ...withBase(a), milestones: a.milestones }) }),
  },
  exponential: {
    summary: 'ExponentialLR: base * gamma^floor(t / every)',
    fields: { base: v, gamma: v, every: d, smooth: v },
    build: (a) => ({ schedule: exponential({ ...withBase(a), gamma: a.gamma }) }),
  },
  cosine: {
    summary: 'cosine annealing from base to min over tMax, then min',
    fields: { base: v, tMax: d, min: v },
    lengthField: 'tMax',
    build: (a) => ({ schedule: cosineAnnealing({ ...withBase(a), tMax: a.tMax }) }),
  },
  sgdr: {
    summary: 'cosine with warm restarts (t0, tMult, decay, cycleLimit, kDecay)',
    fields: { base: v, t0: d, tMult: v, min: v, decay: v, cycleLimit: v, kDecay: v },
    build: (a) => ({ schedule: sgdr({ ...withBase(a), t0: a.t0 }) }),
  },
  cyclic: {
    summary: 'CyclicLR (triangular, triangular2, exp_range) with momentum in antiphase',
    fields: {
      baseLr: v,
      maxLr: v,
      stepSizeUp: d,
      stepSizeDown: d,
      mode: v,
      gamma: v,
      cycleMomentum: v,
      baseMomentum: v,
      maxMomentum: v,
    },
    build: (a) => {
      const { lr, momentum } = cyclicLR({ ...a, baseLr: a.baseLr, maxLr: a.maxLr });
      return { schedule: lr, momentum };
    },
  },
  onecycle: {
    summary: 'OneCycleLR (two or three phases) with momentum in antiphase',
    fields: {
      maxLr: v,
      totalSteps: d,
      pctStart: v,
      annealStrategy: v,
      divFactor: v,
      finalDivFactor: v,
      threePhase: v,
      cycleMomentum: v,
      baseMomentum: v,
      maxMomentum: v,
    },
    lengthField: 'totalSteps',
    build: (a) => {
      const { lr, momentum } = oneCycle({ ...a, maxLr: a.maxLr ?? 1, totalSteps: a.totalSteps });
      return { schedule: lr, momentum };
    },
  },
  linear: {
    summary: 'linear from `from` to `to` over steps, then `to`',
    fields: { from: v, to: v, steps: d },
    lengthField: 'steps',
    build: (a) => ({ schedule: linear({ from: a.from, to: a.to, steps: a.steps }) }),
  },
  linear_to_zero: {
    summary: 'linear decay from base to 0 over steps (SLR retraining)',
    fields: { base: v, steps: d },
    lengthField: 'steps',
    build: (a) => ({ schedule: linearToZero({ base: a.base ?? 1, steps: a.steps }) }),
  },
  poly: {
    summary: 'polynomial decay: min + (base - min)(1 - t/steps)^power',
    fields: { base: v, steps: d, power: v, min: v },
    lengthField: 'steps',
    build: (a) => ({ schedule: polynomial({ ...withBase(a), steps: a.steps }) }),
  },
  swalr: {
    summary: 'SWALR: anneal from fromLr to swaLr over annealSteps, then hold',
    fields: { fromLr: v, swaLr: v, annealSteps: d, strategy: v, updateEvery: d },
    build: (a) => ({
      schedule: swalr({ ...a, fromLr: a.fromLr, swaLr: a.swaLr, annealSteps: a.annealSteps }),
    }),
  },
  multiplicative_cyclic: {
    summary: 'tradeoff-curve cycles of T, mT, m^2 T, ... decaying to min in each',
    fields: {
      peak: v,
      firstCycle: d,
      mult: v,
      shape: v,
      min: v,
      cycleWarmup: d,
      cycleWarmupStartFactor: v,
    },
    build: (a, ctx) => {
      const opts = { ...a, peak: a.peak ?? 1, firstCycle: a.firstCycle };
      return {
        schedule: multiplicativeCyclic(opts),
        cycleEnds:
          ctx.available === undefined ? undefined : multiplicativeCycleEnds(opts, ctx.available),
      };
    },
  },
  cyclical: {
    summary: 'a repeating triangle or cosine cycle between min and max',
    fields: { min: v, max: v, cycleSteps: d, shape: v, phase: v, peakAt: v, round: v },
    build: (a) => ({
      schedule: cyclical({ ...a, min: a.min, max: a.max, cycleSteps: a.cycleSteps }),
    }),
  },
  cyclical_weight_decay: {
    summary: 'weight decay low -> high -> low over the run (Smith 2022)',
    fields: { min: v, max: v, totalSteps: d, factor: v, shape: v },
    lengthField: 'totalSteps',
    build: (a) => ({
      schedule: cyclicalWeightDecaySchedule({
        ...a,
        min: a.min,
        max: a.max,
        totalSteps: a.totalSteps,
      }),
    }),
  },
  cyclical_temperature: {
    summary: 'softmax temperature low -> high -> low over the run (Smith 2022)',
    fields: { min: v, max: v, totalSteps: d, factor: v, shape: v },
    lengthField: 'totalSteps',
    build: (a) => ({ schedule: cyclicalTemperatureSchedule({ ...a, totalSteps: a.totalSteps }) }),
  },
  cyclical_grad_clip: {
    summary: 'gradient-clip threshold tight -> loose -> tight over the run (Smith 2022)',
    fields: { min: v, max: v, totalSteps: d, factor: v, shape: v },
    lengthField: 'totalSteps',
    build: (a) => ({ schedule: cyclicalGradClipSchedule({ ...a, totalSteps: a.totalSteps }) }),
  },
  cyclical_batch_size: {
    summary: 'batch size large -> small -> large over the run, integers (Smith 2022)',
    fields: { large: v, small: v, totalSteps: d, factor: v, shape: v },
    lengthField: 'totalSteps',
    build: (a) => ({
      schedule: cyclicalBatchSizeSchedule({
        ...a,
        large: a.large,
        small: a.small,
        totalSteps: a.totalSteps,
      }),
    }),
  },
  sequential: {
    summary: 'schedules one after another, each starting its own time at its milestone',
    fields: { schedules: 'specs', milestones: 'durations' },
    build: (a, ctx) => buildSequential(a, ctx),
  },
});

/** Keys every spec accepts besides its own fields. */
const COMMON_KEYS = ['name', 'warmup', 'warmupStartFactor'];

export function scheduleNames(): string[] {
  return Object.keys(REGISTRY);
}

/** Every registered schedule: its name, summary and the options it accepts. */
export function describeSchedules(): { name: string; summary: string; options: string[] }[] {
  return Object.entries(REGISTRY).map(([name, e]) => ({
    name,
    summary: e.summary,
    options: Object.keys(e.fields),
  }));
}

function fieldError(where: string, field: string, e: unknown): never {
  if (e instanceof UsageError) {
    throw new UsageError(e.code, `${where} schedule: ${field}: ${e.message}`);
  }
  throw e;
}

function resolveDuration(where: string, field: string, value: unknown, timeline: Timeline): number {
  if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'object') {
    throw badArgument(where, field, value, "a number of steps or a duration such as '2ep'");
  }
  try {
    return timeline.toSteps(value as DurationLike);
  } catch (e) {
    return fieldError(where, field, e);
  }
}

function buildSequential(a: Args, ctx: BuildContext): Omit<BuiltSchedule, 'name'> {
  const specs: unknown = a.schedules;
  const milestones: unknown = a.milestones ?? [];
  if (!Array.isArray(specs) || specs.length === 0) {
    throw badArgument('sequential', 'schedules', specs, 'a non-empty array of schedule specs');
  }
  checkSequence(specs.length, milestones);
  const last = milestones[milestones.length - 1];
  if (ctx.available !== undefined && last !== undefined && last >= ctx.available) {
    throw badArgument('sequential', 'milestones', milestones, `steps < the run's ${ctx.available}`);
  }
  const built: BuiltSchedule[] = [];
  specs.forEach((spec: unknown, i) => {
    const start = i === 0 ? 0 : milestones[i - 1];
    const end = i < milestones.length ? milestones[i] : ctx.available;
    const segment = start !== undefined && end !== undefined ? end - start : undefined;
    let child = spec;
    // SWALR anneals from the lr in use when it starts: default to the previous schedule's
    // value at this milestone.
    if (isSpec(spec) && spec.name === 'swalr' && spec.fromLr === undefined && i > 0) {
      child = { ...spec, fromLr: built[i - 1].schedule(start - (i > 1 ? milestones[i - 2] : 0)) };
    }
    built.push(buildSpec(child, ctx.timeline, segment, `schedules[${i}]`));
  });
  return {
    schedule: sequential(
      built.map((b) => b.schedule),
      milestones,
    ),
  };
}

function isSpec(x: unknown): x is ScheduleSpec {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function buildSpec(
  spec: unknown,
  timeline: Timeline,
  available: number | undefined,
  path: string,
): BuiltSchedule {
  if (!isSpec(spec) || typeof spec.name !== 'string') {
    throw new UsageError(
      'ANNEAL_BAD_SCHEDULE',
      `schedule spec ${path} = ${JSON.stringify(spec)} is not valid: expected an object with a ` +
        `'name', e.g. { "name": "cosine", "tMax": "10ep" }. Known names: ${scheduleNames().join(', ')}.`,
    );
  }
  const name = spec.name;
  const entry = Object.prototype.hasOwnProperty.call(REGISTRY, name) ? REGISTRY[name] : undefined;
  if (entry === undefined) {
    throw new UsageError(
      'ANNEAL_UNKNOWN_SCHEDULE',
      `unknown schedule ${JSON.stringify(name)}${path === 'spec' ? '' : ` at ${path}`}: ` +
        `expected one of ${scheduleNames().join(', ')}.`,
    );
  }
  const accepted = [...COMMON_KEYS, ...Object.keys(entry.fields)];
  for (const key of Object.keys(spec)) {
    if (!accepted.includes(key)) {
      throw new UsageError(
        'ANNEAL_BAD_SCHEDULE',
        `${name} schedule: unknown option '${key}'${path === 'spec' ? '' : ` at ${path}`}: ` +
          `expected some of ${accepted.join(', ')}.`,
      );
    }
  }

  const warmup =
    spec.warmup === undefined ? 0 : resolveDuration(name, 'warmup', spec.warmup, timeline);
  const after = available === undefined ? undefined : available - warmup;
  if (warmup > 0 && after !== undefined && after <= 0) {
    throw badArgument(name, 'warmup', spec.warmup, `fewer steps than the run's ${available}`);
  }
  const args: Args = {};
  for (const [field, kind] of Object.entries(entry.fields)) {
    const value = spec[field];
    if (value === undefined) continue;
    if (kind === 'duration') args[field] = resolveDuration(name, field, value, timeline);
    else if (kind === 'durations') {
      if (!Array.isArray(value)) throw badArgument(name, field, value, 'an array of durations');
      args[field] = value.map((x, i) => resolveDuration(name, `${field}[${i}]`, x, timeline));
    } else args[field] = value;
  }
  const ctx: BuildContext = {
    available: after,
    timeline,
    rest(field) {
      if (after === undefined) {
        throw new UsageError(
          'ANNEAL_BAD_SCHEDULE',
          `${name} schedule: ${field} is missing and the run's length is not known, so it cannot ` +
            `default to the rest of the run: give ${field} (e.g. '10ep') or the run's length.`,
        );
      }
      return after;
    },
  };
  if (entry.lengthField !== undefined && args[entry.lengthField] === undefined) {
    args[entry.lengthField] = ctx.rest(entry.lengthField);
  }
  const built = entry.build(args, ctx);
  if (warmup === 0) return { name, ...built };
  const startFactor = (spec.warmupStartFactor as number | undefined) ?? 0;
  return {
    name,
    schedule: withWarmup(built.schedule, warmup, startFactor),
    // Momentum holds its first value through the warmup.
    momentum: built.momentum && withWarmup(built.momentum, warmup, 1),
    cycleEnds: built.cycleEnds?.map((end) => end + warmup),
  };
}

/**
 * Builds a schedule from a plain JSON spec. Durations are resolved with `timeline` (whose
 * totalSteps, when known, is the run's length and the default for the main length).
 */
export function createSchedule(spec: unknown, timeline: Timeline = new Timeline()): BuiltSchedule {
  return buildSpec(spec, timeline, timeline.totalSteps, 'spec');
}
