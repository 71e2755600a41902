/**
 * The one-line errors for options: a bad value (method, option, value, what fits) and an unknown
 * key (owner, key, the keys it takes). Every options object that comes from a user (a recipe, a
 * flag's JSON) is strict: a misspelt key is an error, never a silent default.
 */
import { UsageError } from './errors.js';

/** A value as an error message shows it: strings quoted, arrays in brackets, long ones cut. */
function show(value: unknown): string {
  let text: string;
  if (Array.isArray(value)) text = `[${value.map(show).join(', ')}]`;
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'function') text = 'a function';
  else if (value !== null && typeof value === 'object') {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  } else text = String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function invalidOption(
  method: string,
  option: string,
  value: unknown,
  expected: string,
): UsageError {
  const shown = Array.isArray(value)
    ? `[${value.join(', ')}]`
    : typeof value === 'string'
      ? JSON.stringify(value)
      : String(value);
  return new UsageError(
    'ANNEAL_BAD_METHOD_OPTION',
    `${method}: ${option} = ${shown} is not valid: expected ${expected}`,
  );
}

/** `value` when it is a finite number that `ok` accepts; else the method's one-line error. */
export function checkNumber(
  method: string,
  option: string,
  value: unknown,
  ok: (v: number) => boolean,
  expected: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw invalidOption(method, option, value, expected);
  }
  return value;
}

/**
 * Every key of an options type, each marked `true`: `{ alpha: true, perSample: true }` for
 * MixupOptions. The compiler refuses a literal of it that misses a key or adds one, so a list
 * of known keys written this way cannot drift from the options interface it is typed by.
 */
export type OptionKeys<T> = { readonly [K in keyof T]-?: true };

/** The keys of an OptionKeys literal, in the order written. */
export function optionKeys<T>(keys: OptionKeys<T>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/** Edit distance with adjacent transpositions ('alpah' is 1 from 'alpha'), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The known key closest to `key`, when it is close enough to be a misspelling of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * The one-line message for the keys of `options` that are not in `known`, or undefined when
 * there are none: `mixup: unknown option 'alpah' (= 0.4): expected some of name, alpha,
 * perSample; did you mean 'alpha'?`.
 */
export function unknownKeysMessage(
  owner: string,
  options: object,
  known: readonly string[],
): string | undefined {
  const record = options as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !known.includes(k));
  if (unknown.length === 0) return undefined;
  const listed = unknown.map((k) => `'${k}' (= ${show(record[k])})`).join(', ');
  const expected = known.length ? `expected some of ${known.join(', ')}` : 'it takes no options';
  const guesses = unknown.flatMap((k) => {
    const guess = closestKey(k, known);
    return guess === undefined ? [] : [unknown.length > 1 ? `'${guess}' for '${k}'` : `'${guess}'`];
  });
  return (
    `${owner}: unknown option${unknown.length > 1 ? 's' : ''} ${listed}: ${expected}` +
    (guesses.length ? `; did you mean ${guesses.join(', ')}?` : '')
  );
}

/**
 * Throws a one-line UsageError (`code`) when `options` has a key that is not in `known`; the
 * message names the owner (a method, a model), each unknown key with its value, the known keys
 * and, for a near miss, the key meant.
 */
export function checkKnownKeys(
  owner: string,
  options: object | undefined,
  known: readonly string[],
  code = 'ANNEAL_BAD_METHOD_OPTION',
): void {
  if (options === undefined) return;
  const message = unknownKeysMessage(owner, options, known);
  if (message !== undefined) throw new UsageError(code, message);
}
