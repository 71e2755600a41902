/**
 * The device check's summary (bench/device-check.sh's last step; bundled into
 * dist/device/summary.mjs, node alone): every section's exit status and seconds, the kernel
 * tests' and the device op tests' counts, the spec suite's counts, the parity, MNIST and backend benchmark records, and
 * the kernel benchmark's targets, in OUT/device-check.json. "ok" is true, and the exit status 0,
 * only when every section exited 0 and every record that the sections should have written is
 * there and says it passed (so a section that printed nothing cannot pass).
 *
 * Reads: SECTIONS (JSON list of {section, exit, seconds, limit, skipped?: why it was left out}),
 * OUT, LOGS (where the sections' logs and records are), DRY ('1' for a dry run), and the
 * environment lines in LOGS/environment.txt.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine } from '../src/machine.js';
import type { SpecSummary } from '../test/backend/tfjs-specs.js';

interface Section {
  section: string;
  exit: number;
  seconds: number;
  limit: number;
  /** Why it was left out (on the GPU, which leaves out nothing, a problem). */
  skipped?: string;
}

const out = process.env.OUT!;
const logs = process.env.LOGS!;
const dry = process.env.DRY === '1';
const sections = JSON.parse(process.env.SECTIONS ?? '[]') as Section[];

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
/** The JSON object on the last line of `path` that parses, or null. */
function lastJson<T>(path: string): T | null {
  const lines = read(path).trimEnd().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as T;
    } catch {
      // a line cut off by a timeout: try the one before
    }
  }
  return null;
}
const ran = (name: string) => sections.some((s) => s.section === name && !s.skipped);

const problems = sections
  .filter((s) => s.exit !== 0)
  .map(
    (s) => `${s.section} exited ${s.exit}${s.exit === 124 ? ` (its ${s.limit} s ran out)` : ''}`,
  );
// On the GPU nothing may be left out: a check that skipped a section has not passed.
if (!dry) {
  for (const s of sections.filter((x) => x.skipped)) {
    problems.push(`${s.section} skipped: ${s.skipped}`);
  }
}

/** node --test's totals in a section's log; a section that ran must pass tests and fail none. */
function testCounts(section: string) {
  const log = read(join(logs, `${section}.log`));
  const count = (name: string) =>
    Number((log.match(new RegExp(`^# ${name} (\\d+)`, 'm')) ?? [])[1] ?? NaN);
  const counts = { pass: count('pass'), fail: count('fail'), skipped: count('skipped') };
  if (ran(section) && !(counts.fail === 0 && counts.pass > 0)) {
    problems.push(`${section}: ${counts.pass} passed, ${counts.fail} failed`);
  }
  return counts;
}
const tests = testCounts('tests');
const opTests = testCounts('backend-ops');

/** A spec run's record as the device runner writes it (its backend may be anneal-cuda). */
type SpecRecord = Omit<SpecSummary, 'backend' | 'exclusions' | 'results'> & { backend: string };
const specRecord = lastJson<SpecRecord>(join(logs, 'backend-specs.log'));
const specs = specRecord && {
  backend: specRecord.backend,
  specs: specRecord.specs,
  passed: specRecord.passed,
  failed: specRecord.failed,
  pending: specRecord.pending,
  excluded: specRecord.excluded,
  seconds: specRecord.seconds,
  nativeKernels: Object.keys(specRecord.nativeCalls).length,
  failures: specRecord.failures.slice(0, 30),
};
if (ran('backend-specs')) {
  if (!specs) problems.push('backend-specs: no summary (see logs/backend-specs.log)');
  else if (specs.failed > 0 || specs.passed < 4000) {
    problems.push(`backend-specs: ${specs.passed} passed, ${specs.failed} failed`);
  }
}

/** A section's record (its --json file): it must exist, and say ok, where the section ran. */
function record(section: string, file: string): Record<string, unknown> | null {
  const r = lastJson<Record<string, unknown>>(join(logs, file));
  if (ran(section) && r?.ok !== true) {
    problems.push(`${section}: ${r ? 'not ok' : 'no record'} (see logs/${section}.log)`);
  }
  return r;
}
const parity = record('backend-parity', 'backend-parity.json');
const mnist = record('backend-mnist', 'backend-mnist.json');
const cliTrain = record('cli-train', 'cli-train.json');
const backendBench = record('backend-bench', 'backend-bench.json');
const cudnnParity = record('backend-parity-cudnn', 'backend-parity-cudnn.json');
const cudnnBench = record('backend-bench-cudnn', 'backend-bench-cudnn.json');
const trainerOverhead = record('trainer-overhead', 'trainer-overhead.json');

// cuda-kernels.json (a dry run's host build writes cuda-kernels-hostbuild.smoke.json).
const kernelsFile = readdirSync(out).find((f) => /^cuda-kernels.*\.json$/.test(f));
let kernels: { targets?: unknown; comparisons?: unknown; checks?: unknown } | null = null;
try {
  kernels = JSON.parse(read(join(out, kernelsFile ?? 'cuda-kernels.json')));
} catch {
  if (ran('bench')) problems.push('bench: no cuda-kernels.json');
}

const gpu = read(join(logs, 'gpu.log')).trim().split('\n').slice(1).join('; ');
const summary = {
  name: 'device-check',
  date: new Date().toISOString(),
  // The commit dist/ and the bundles were built from (device-check.sh reads build-info.json).
  commit: process.env.ANNEAL_BUILD_COMMIT ?? 'uncommitted',
  machine: machine(),
  dry,
  ok: problems.length === 0,
  problems,
  gpu: dry ? 'dry run: no GPU (anneal-cuda-host in place of anneal-cuda)' : gpu,
  environment: read(join(logs, 'environment.txt')).trim().split('\n'),
  seconds: sections.reduce((n, s) => n + s.seconds, 0),
  sections,
  tests,
  opTests,
  specs,
  parity,
  mnist,
  cliTrain,
  backendBench: backendBench && {
    device: backendBench.device,
    comparisons: backendBench.comparisons,
    targets: backendBench.targets,
    problems: backendBench.problems,
  },
  // Parity and the CNN and ResNet again with ANNEAL_CUDNN=1: cuDNN's convolutions.
  cudnnParity,
  cudnnBench: cudnnBench && {
    device: cudnnBench.device,
    comparisons: cudnnBench.comparisons,
  },
  // The Trainer's ms a step: no method, the NaN guard reading every step, the gate and clipping.
  trainerOverhead: trainerOverhead && trainerOverhead.rows,
  kernels: kernels && {
    file: kernelsFile,
    targets: kernels.targets ?? null,
    comparisons: kernels.comparisons ?? null,
    checks: kernels.checks ?? null,
  },
};
writeFileSync(join(out, 'device-check.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(JSON.stringify({ ok: summary.ok, dry, problems, seconds: summary.seconds }));
if (!summary.ok) {
  console.error(`device-check: FAILED (${problems.join('; ')})`);
  process.exitCode = 1;
}
