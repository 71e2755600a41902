/**
 * Every training method by the name recipes and the CLI use (`label-smoothing`, `mixup`, ...),
 * with the factory that builds it from a plain options object. Each factory checks its own
 * options and names the bad one.
 */
import { UsageError } from '../errors.js';
import type { Method } from '../train/method.js';
import { earlyStopping, type EarlyStoppingOptions } from './early-stopping/index.js';
import { nanGuard, type NanGuardOptions } from './nan-guard/index.js';

export interface MethodEntry {
  readonly name: string;
  readonly summary: string;
  create(options?: Record<string, unknown>): Method;
}

function entry<T>(name: string, summary: string, factory: (options: T) => Method): MethodEntry {
  return Object.freeze({ name, summary, create: (options = {}) => factory(options as T) });
}

export const METHODS: Readonly<Record<string, MethodEntry>> = Object.freeze(
  Object.fromEntries(
    [
      entry<NanGuardOptions>('nan-guard', 'skip or stop on a NaN/Inf gradient or loss', nanGuard),
      entry<EarlyStoppingOptions>(
        'early-stopping',
        'stop when a metric stops improving; restore the best weights',
        earlyStopping,
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
