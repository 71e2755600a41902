/** Range checks of hyper-parameters: a UsageError naming the optimizer, field, value and range. */
import { UsageError } from '../errors.js';
import type { SgdParams } from './types.js';

export type Range = 'nonNegative' | 'positive' | 'unitOpen' | 'unitClosed' | 'positiveInteger';

const DESCRIPTIONS: Record<Range, string> = {
  nonNegative: 'a finite number >= 0',
  positive: 'a finite number > 0',
  unitOpen: 'a number in [0, 1)',
  unitClosed: 'a number in [0, 1]',
  positiveInteger: 'an integer >= 1',
};

function inRange(value: number, range: Range): boolean {
  switch (range) {
    case 'nonNegative':
      return Number.isFinite(value) && value >= 0;
    case 'positive':
      return Number.isFinite(value) && value > 0;
    case 'unitOpen':
      return value >= 0 && value < 1;
    case 'unitClosed':
      return value >= 0 && value <= 1;
    case 'positiveInteger':
      return Number.isSafeInteger(value) && value >= 1;
  }
}

export function badHyper(optimizer: string, message: string): UsageError {
  return new UsageError('ANNEAL_BAD_OPTIMIZER_OPTION', `${optimizer}: ${message}`);
}

export function checkRange(optimizer: string, field: string, value: unknown, range: Range): void {
  if (typeof value !== 'number' || !inRange(value, range)) {
    throw badHyper(
      optimizer,
      `${field} is ${String(value)}, expected ${DESCRIPTIONS[range]}; pass a value in that range.`,
    );
  }
}

export function checkBoolean(optimizer: string, field: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw badHyper(optimizer, `${field} is ${String(value)}, expected true or false.`);
  }
}

/**
 * The hyper-parameters of the kernels' SGD step (FlatOptimizer.sgdStep), for every optimizer that
 * takes it: lr, weight decay and momentum >= 0, dampening in [0, 1], and Nesterov only with
 * dampening 0 (PyTorch's rule).
 */
export function checkSgdHyper(
  optimizer: string,
  h: Pick<SgdParams, 'lr' | 'weightDecay' | 'momentum' | 'dampening' | 'nesterov'>,
): void {
  for (const field of ['lr', 'weightDecay', 'momentum'] as const) {
    checkRange(optimizer, field, h[field], 'nonNegative');
  }
  checkRange(optimizer, 'dampening', h.dampening, 'unitClosed');
  checkBoolean(optimizer, 'nesterov', h.nesterov);
  if (h.nesterov && h.dampening !== 0) {
    throw badHyper(
      optimizer,
      `dampening is ${h.dampening} with nesterov true; Nesterov momentum needs dampening 0: ` +
        `set dampening: 0 or nesterov: false.`,
    );
  }
}
