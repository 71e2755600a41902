/**
 * Every error anneal throws on purpose is an AnnealError with a stable `code`, and a message
 * that states the bad value, what was expected and what to do. The CLI prints `message` as one
 * line (no stack) for these and exits 2; anything else is a bug and keeps its stack.
 */
export class AnnealError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AnnealError';
  }
}

/** Bad user input: a flag, an option, a file or a name that does not fit. */
export class UsageError extends AnnealError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'UsageError';
  }
}

/**
 * The `anneal` command's exit codes, a contract (README's "Exit codes" and `anneal --help`):
 * 1 is reserved for bugs (an unexpected error, printed with its stack).
 */
export const EXIT_CODES = {
  ok: 0,
  bug: 1,
  usage: 2,
  /** The run diverged: the NaN guard stopped it (its directory keeps the log and checkpoints). */
  diverged: 3,
  /** Every trial of a search failed. */
  allTrialsFailed: 4,
} as const;

/**
 * A run that ended without a usable result (it diverged; every trial of a search failed). What
 * it wrote stays on disk; the CLI prints the message as one line and exits with `exitCode`.
 */
export class RunFailure extends AnnealError {
  constructor(
    code: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(code, message);
    this.name = 'RunFailure';
  }
}

export function isAnnealError(e: unknown): e is AnnealError {
  return e instanceof AnnealError;
}
