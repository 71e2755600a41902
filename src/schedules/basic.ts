/**
 * The simple schedules (PyTorch torch.optim.lr_scheduler closed forms) and the two
 * combinators: a linear warmup prefix and a sequence of schedules.
 *
 * Lengths are optimizer steps. Every value is the one used FOR step t (t = 0 is the first
 * step), which is what PyTorch's `get_last_lr()` holds after t calls to `scheduler.step()`.
 */
import { defineSchedule, type Schedule } from './types.js';
import { checker } from './validate.js';

export function constant(opts: { value: number }): Schedule {
  const value = checker('constant').finite('value', opts.value);
  return defineSchedule('constant', () => value);
}

/** StepLR: base * gamma^floor(t / stepSize). */
export function stepDecay(opts: { base: number; stepSize: number; gamma?: number }): Schedule {
  const check = checker('step');
  const base = check.finite('base', opts.base);
  const stepSize = check.integer('stepSize', opts.stepSize, 1);
  const gamma = check.positive('gamma', opts.gamma ?? 0.1);
  return defineSchedule('step', (t) => base * gamma ** Math.floor(t / stepSize));
}

/**
 * MultiStepLR: base * gamma^(number of milestones <= t). As in PyTorch, milestones may come in
 * any order and a repeated milestone decays twice.
 */
export function multiStep(opts: { base: number; milestones: number[]; gamma?: number }): Schedule {
  const check = checker('multistep');
  const base = check.finite('base', opts.base);
  const gamma = check.positive('gamma', opts.gamma ?? 0.1);
  if (!Array.isArray(opts.milestones)) {
    throw check.fail('milestones', opts.milestones, 'an array of step counts');
  }
  const milestones = opts.milestones
    .map((m, i) => check.integer(`milestones[${i}]`, m, 1))
    .sort((a, b) => a - b);
  return defineSchedule('multistep', (t) => {
    let passed = 0;
    while (passed < milestones.length && milestones[passed] <= t) passed++;
    return base * gamma ** passed;
  });
}

/**
 * ExponentialLR: base * gamma^floor(t / every). `every` = 1 decays every step; `every` =
 * steps per epoch reproduces PyTorch's ExponentialLR stepped once per epoch. `smooth: true`
 * uses gamma^(t / every) instead (no staircase).
 */
export function exponential(opts: {
  base: number;
  gamma: number;
  every?: number;
  smooth?: boolean;
}): Schedule {
  const check = checker('exponential');
  const base = check.finite('base', opts.base);
  const gamma = check.positive('gamma', opts.gamma);
  const every = check.integer('every', opts.every ?? 1, 1);
  const smooth = check.boolean('smooth', opts.smooth ?? false);
  return defineSchedule('exponential', (t) =>
    smooth ? base * gamma ** (t / every) : base * gamma ** Math.floor(t / every),
  );
}

/**
 * from + (to - from) * min(t, steps) / steps: PyTorch's LinearLR written with values instead of
 * factors. It reaches `to` at step `steps` and holds it.
 */
export function linear(opts: { from: number; to: number; steps: number }): Schedule {
  const check = checker('linear');
  const from = check.finite('from', opts.from);
  const to = check.finite('to', opts.to);
  const steps = check.integer('steps', opts.steps, 1);
  return defineSchedule('linear', (t) => from + ((to - from) * Math.min(t, steps)) / steps);
}

/**
 * Linear decay from base to 0 over `steps` (the learning-rate schedule of SLR retraining
 * after pruning, Le & Hua 2021). The last step, steps - 1, uses base / steps; from `steps` on
 * the value is 0.
 */
export function linearToZero(opts: { base: number; steps: number }): Schedule {
  return linear({ from: opts.base, to: 0, steps: opts.steps });
}

/**
 * Polynomial decay: min + (base - min) * (1 - t/steps)^power, then min. With min = 0 this is
 * PyTorch's PolynomialLR (default power 1); min is timm's lr_min. timm's default power is 0.5:
 * anneal keeps PyTorch's default.
 */
export function polynomial(opts: {
  base: number;
  steps: number;
  power?: number;
  min?: number;
}): Schedule {
  const check = checker('poly');
  const base = check.finite('base', opts.base);
  const steps = check.integer('steps', opts.steps, 1);
  const power = check.positive('power', opts.power ?? 1);
  const min = check.finite('min', opts.min ?? 0);
  return defineSchedule('poly', (t) =>
    t >= steps ? min : min + (base - min) * (1 - t / steps) ** power,
  );
}

/**
 * Linear warmup as a PREFIX (timm's `warmup_prefix=True`; PyTorch's LinearLR followed by the
 * schedule in a SequentialLR): for t < warmupSteps the value rises linearly from
 * startFactor * schedule(0) towards schedule(0), reaching it at t = warmupSteps, where the
 * wrapped schedule starts from its own step 0. The wrapped schedule is shifted, not cut.
 * startFactor plays PyTorch LinearLR's start_factor; startFactor = 0 is timm's default
 * warmup_lr_init = 0 (the first step then uses 0).
 */
export function withWarmup(schedule: Schedule, warmupSteps: number, startFactor = 0): Schedule {
  const check = checker('warmup');
  check.integer('warmup', warmupSteps, 0);
  check.inRange('warmupStartFactor', startFactor, 0, 1, '');
  if (warmupSteps === 0) return schedule;
  const target = schedule(0);
  return defineSchedule('warmup', (t) =>
    t < warmupSteps
      ? target * (startFactor + ((1 - startFactor) * t) / warmupSteps)
      : schedule(t - warmupSteps),
  );
}

/**
 * PyTorch's SequentialLR: schedules[i] runs from milestones[i-1] (0 for the first) and sees
 * its own time starting at 0 there. milestones are strictly increasing step counts.
 */
export function sequential(schedules: Schedule[], milestones: number[]): Schedule {
  checkSequence(Array.isArray(schedules) ? schedules.length : 0, milestones);
  const starts = [0, ...milestones];
  return defineSchedule('sequential', (t) => {
    let i = starts.length - 1;
    while (starts[i] > t) i--;
    return schedules[i](t - starts[i]);
  });
}

/** Checks that `count` schedules can be joined at these strictly increasing milestones. */
export function checkSequence(count: number, milestones: unknown): asserts milestones is number[] {
  const check = checker('sequential');
  if (count === 0) throw check.fail('schedules', count, 'a non-empty array of schedules');
  if (!Array.isArray(milestones) || milestones.length !== count - 1) {
    throw check.fail(
      'milestones',
      milestones,
      `${count - 1} step counts (one fewer than the ${count} schedules)`,
    );
  }
  milestones.forEach((m: unknown, i) => {
    check.integer(`milestones[${i}]`, m, 1);
    if (i > 0 && (m as number) <= milestones[i - 1]) {
      throw check.fail(
        `milestones[${i}]`,
        m,
        `a value > milestones[${i - 1}] (${milestones[i - 1]})`,
      );
    }
  });
}
