/** Option parsers for commander: each rejects a bad value with one line naming it. */
import { InvalidArgumentError, Option } from 'commander';
import { KERNEL_CHOICES } from '../kernels/index.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('expected a non-negative integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('expected a positive number, e.g. 1e-3.');
  return n;
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535 (0 picks a free one).');
  return n;
}

/** `--kernels` of the commands that take no recipe (soup, flatness, landscape). */
export function kernelsOption(): Option {
  return new Option(
    '--kernels <kernels>',
    `flat-vector kernels: ${KERNEL_CHOICES.join(', ')}`,
  ).argParser(oneOf(KERNEL_CHOICES));
}
