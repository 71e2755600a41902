/**
 * tfjs-core's conformance suite on a backend: the op specs @tensorflow/tfjs-core ships for
 * backend authors (dist/**\/*_test.js, jasmine), run in Node on `anneal-cpu` or, for reference,
 * on tfjs-backend-cpu's `cpu`.
 *
 * The specs are extensionless ESM, so they are bundled first (esbuild, into a temp dir) with
 * test/backend/tfjs-specs-entry.ts: `module` before `main` so tfjs-backend-cpu and anneal-cpu
 * take the same tfjs-core as the specs (main is a second, CJS copy), and annotations ignored
 * (tfjs-core's `sideEffects` list would drop the spec files). jasmine 5 then runs them in this
 * process, in order, with the exclusions below filtered out, each with its reason.
 *
 * Usage: node --import tsx test/backend/tfjs-specs.ts [--backend anneal-cpu|anneal-cuda-host|cpu] [--json]
 *          [--grep SUBSTRING] [--verbose]
 * Prints each exclusion with its reason and one summary line; with --json, a JSON SpecSummary as
 * the last line. Every failure goes to stderr with its messages. Exit status 0 when none failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type * as Entry from './tfjs-specs-entry.js';

export const BACKENDS = ['anneal-cpu', 'anneal-cuda-host', 'cpu'] as const;
export type SpecBackend = (typeof BACKENDS)[number];

/**
 * Specs left out of a run: each whose full name contains `spec` (and starts with `suite`, the
 * describeWithFlags name, where given), on `backends` (every backend where absent).
 */
export interface Exclusion {
  suite?: string;
  spec: string;
  reason: string;
  backends?: readonly SpecBackend[];
}

/**
 * Every spec left out, and why (tfjs-backend-wasm's TEST_FILTERS, as one flat table). An entry
 * that matches no spec is reported as stale. A kernel bug found here is reported to the kernel's
 * owner and listed as "native kernel bug: ..." until it is fixed; then its entry goes.
 */
export const EXCLUSIONS: readonly Exclusion[] = [];

/**
 * Suites tfjs-core defines for the backend named `cpu` and no other, so another backend's run
 * has none of their specs; a comparison of passes across backends leaves them out.
 */
export const CPU_ONLY_SUITES: readonly { suite: string; reason: string }[] = [
  {
    suite: 'Switching cpu backends',
    reason:
      "engine_test.js defines it with predicate backendName === 'cpu': it moves tensors " +
      'between two instances of the cpu backend (tfjs-core engine behaviour, not kernels)',
  },
];

export interface ExclusionResult extends Exclusion {
  /** How many specs of this run it left out. */
  matched: number;
}

export interface SpecFailure {
  name: string;
  messages: string[];
}

export type SpecStatus = 'passed' | 'failed' | 'pending' | 'excluded';

export interface SpecSummary {
  backend: SpecBackend;
  /** Every spec defined for the backend: passed + failed + pending + excluded. */
  specs: number;
  passed: number;
  /** Failed specs, plus suite-level and global errors (a beforeAll that threw, a stray rejection). */
  failed: number;
  /** Specs tfjs-core itself marks pending (pending(), xit). */
  pending: number;
  /** Specs left out by EXCLUSIONS. */
  excluded: number;
  seconds: number;
  exclusions: ExclusionResult[];
  failures: SpecFailure[];
  /**
   * Every spec in run order with its status; names with the backend's env name replaced by
   * `<backend>`, so two backends' results compare by name (names may repeat).
   */
  results: [string, SpecStatus][];
  /** Native kernel calls per kernel during the run (anneal-cpu only; empty for cpu). */
  nativeCalls: Record<string, number>;
}

// jasmine 5 ships no types; only what is used here.
interface JasmineResult {
  id: string;
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}
interface JasmineReporter {
  specDone?(result: JasmineResult): void;
  suiteDone?(result: JasmineResult): void;
  jasmineDone?(result: { failedExpectations: JasmineResult['failedExpectations'] }): void;
}
interface JasmineRunner {
  exitOnCompletion: boolean;
  env: {
    configure(config: {
      random?: boolean;
      specFilter?: (spec: { id: string; getFullName(): string }) => boolean;
    }): void;
  };
  clearReporters(): void;
  addReporter(reporter: JasmineReporter): void;
  execute(): Promise<unknown>;
}
type JasmineCtor = new () => JasmineRunner;

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');

/** The specs, tfjs and anneal-cpu, bundled into `dir`; returns the bundle's path. */
async function bundleSpecs(dir: string): Promise<string> {
  const outfile = join(dir, 'tfjs-specs.bundle.mjs');
  await build({
    entryPoints: [join(here, 'tfjs-specs-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    ignoreAnnotations: true,
    logLevel: 'error',
    // tfjs-core calls require (jasmine-core, node-fetch, node built-ins); an ESM bundle has none.
    banner: {
      js: "import { createRequire as __annealRequire } from 'node:module'; const require = __annealRequire(import.meta.url);",
    },
  });
  return outfile;
}

/** The spec's full name with the backend's test env name replaced by `<backend>`. */
export function neutralName(fullName: string, backend: string): string {
  return fullName.split(` ${backend} {`).join(' <backend> {');
}

/** Runs tfjs-core's specs on `backend`; `grep` keeps only specs whose full name contains it. */
export async function runSpecs(
  backend: SpecBackend,
  options: { grep?: string; verbose?: boolean } = {},
): Promise<SpecSummary> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'anneal-tfjs-specs-'));
  try {
    const bundle = await bundleSpecs(dir);
    // The bundle lives outside the repository: point the addon loader at build/Release.
    process.env.ANNEAL_ADDON_DIR ??= join(root, 'build', 'Release');

    // Installs jasmine's globals (describe, it, ...), which the specs need as they load.
    const Jasmine = createRequire(import.meta.url)('jasmine') as JasmineCtor;
    const runner = new Jasmine();
    runner.exitOnCompletion = false;
    runner.clearReporters();

    const exclusions: ExclusionResult[] = EXCLUSIONS.filter(
      (e) => !e.backends || e.backends.includes(backend),
    ).map((e) => ({ ...e, matched: 0 }));
    const excludedIds = new Set<string>();
    const grepped = new Set<string>();
    runner.env.configure({
      random: false,
      specFilter: (spec) => {
        const name = spec.getFullName();
        if (options.grep !== undefined && !name.includes(options.grep)) {
          grepped.add(spec.id);
          return false;
        }
        const hit = exclusions.find(
          (e) => name.includes(e.spec) && (e.suite === undefined || name.startsWith(`${e.suite} `)),
        );
        if (!hit) return true;
        if (!excludedIds.has(spec.id)) {
          excludedIds.add(spec.id);
          hit.matched++;
        }
        return false;
      },
    });

    const summary: SpecSummary = {
      backend,
      specs: 0,
      passed: 0,
      failed: 0,
      pending: 0,
      excluded: 0,
      seconds: 0,
      exclusions,
      failures: [],
      results: [],
      nativeCalls: {},
    };
    const report = (name: string, messages: string[]) => {
      summary.failures.push({ name, messages });
      console.error(`FAILED ${name}\n${messages.map((m) => `    ${m}`).join('\n')}`);
    };
    const messagesOf = (r: { failedExpectations: { message: string }[] }) =>
      r.failedExpectations.map((f) => f.message);
    runner.addReporter({
      specDone(result) {
        if (grepped.has(result.id)) return;
        summary.specs++;
        let status: SpecStatus;
        if (excludedIds.has(result.id)) status = 'excluded';
        else if (result.status === 'passed' || result.status === 'failed') status = result.status;
        else status = 'pending';
        summary[status]++;
        if (status === 'failed') report(result.fullName, messagesOf(result));
        summary.results.push([neutralName(result.fullName, backend), status]);
        if (options.verbose) console.error(`${status} ${result.fullName}`);
      },
      suiteDone(result) {
        if (result.failedExpectations.length === 0) return;
        summary.failed++;
        report(`suite: ${result.fullName}`, messagesOf(result));
      },
      jasmineDone(result) {
        if (result.failedExpectations.length === 0) return;
        summary.failed++;
        report('global error', messagesOf(result));
      },
    });

    const entry = (await import(pathToFileURL(bundle).href)) as typeof Entry;
    await entry.loadSpecs(backend);
    await runner.execute();
    summary.nativeCalls = entry.nativeCalls();
    summary.seconds = Math.round((performance.now() - started) / 100) / 10;
    return summary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The one summary line. */
export function summaryLine(s: SpecSummary): string {
  return (
    `tfjs-core specs on ${s.backend}: ${s.specs} specs, ${s.passed} passed, ${s.failed} failed, ` +
    `${s.pending} pending, ${s.excluded} excluded, ${s.seconds} s`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'anneal-cpu' },
      json: { type: 'boolean', default: false },
      grep: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const backend = values.backend as SpecBackend;
  if (!BACKENDS.includes(backend)) {
    console.error(`--backend must be one of ${BACKENDS.join(', ')}, not ${values.backend}`);
    process.exit(2);
  }
  const summary = await runSpecs(backend, { grep: values.grep, verbose: values.verbose });
  for (const e of summary.exclusions) {
    const where = e.suite === undefined ? '' : ` in "${e.suite}"`;
    const stale = e.matched === 0 ? ' (stale: matches no spec)' : '';
    console.log(`excluded ${e.matched} spec(s) "${e.spec}"${where}${stale}: ${e.reason}`);
  }
  const natives = Object.entries(summary.nativeCalls);
  if (natives.length > 0) {
    const calls = natives.reduce((n, [, c]) => n + c, 0);
    console.log(`native kernel calls: ${calls} over ${natives.length} kernels`);
  }
  console.log(summaryLine(summary));
  if (values.json) console.log(JSON.stringify(summary));
  process.exitCode = summary.failed === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
