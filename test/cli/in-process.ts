/**
 * Running the `anneal` command line in this process: `main` (src/cli/program.ts) with
 * process.stdout.write and process.stderr.write captured, for suites of many cases where a
 * process per case (test/cli/helpers.ts's `anneal`) would take minutes. main returns the exit
 * code and never calls process.exit; an exception escaping it is a bug, reported here as code 99
 * with its stack on stderr so that the case fails visibly.
 *
 * Only text is captured: bytes written as a Buffer go on to the real stream, because under
 * `node --test` the test runner reports to its parent through this process's stdout in bytes.
 * Callers set ANNEAL_KERNELS themselves (the suite's kernels), as helpers.ts does for a process.
 */
import { main } from '../../src/cli/program.js';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The exit code of an exception that escaped `main`: no command exits with it. */
export const ESCAPED_EXCEPTION = 99;

type Write = typeof process.stdout.write;

function capture(stream: NodeJS.WriteStream, sink: string[]): Write {
  const original = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk !== 'string') {
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    }
    sink.push(chunk);
    // write(chunk, callback) or write(chunk, encoding, callback): the callback still runs.
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    if (callback) process.nextTick(callback);
    return true;
  } as Write;
  return original;
}

/** Runs `anneal <args>` in this process: its exit code and what it wrote. */
export async function runCli(args: string[]): Promise<InProcessResult> {
  const out: string[] = [];
  const err: string[] = [];
  const exitCode = process.exitCode;
  const stdoutWrite = capture(process.stdout, out);
  const stderrWrite = capture(process.stderr, err);
  let code: number;
  try {
    code = await main(args);
  } catch (e) {
    err.push(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    code = ESCAPED_EXCEPTION;
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.exitCode = exitCode;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}
