/**
 * tfjs-core's conformance suite (test/backend/tfjs-specs.ts) on anneal's backends, anneal-cpu
 * and anneal-cuda-host (the CUDA device's backend on its host build), against the same suite on
 * tfjs-backend-cpu measured in this run: nothing fails on any, every exclusion states its reason
 * and still matches a spec, and every spec cpu passes passes on anneal's too, but for the
 * excluded ones and the suites tfjs-core defines only for the backend named `cpu`.
 * anneal-cpu's part is skipped, with the reason, where the host device is not built; with
 * ANNEAL_REQUIRE_HOST=1 a missing device fails instead. anneal_cpu.node is always built.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostDeviceProblem } from '../../src/backend/index.js';
import {
  CPU_ONLY_SUITES,
  EXCLUSIONS,
  summaryLine,
  type SpecBackend,
  type SpecSummary,
} from './tfjs-specs.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
const skip = problem ?? false;

const root = fileURLToPath(new URL('../..', import.meta.url));
const runner = join(root, 'test', 'backend', 'tfjs-specs.ts');

/** Runs the runner on `backend` in a child process; its --json summary. */
function runSpecs(backend: SpecBackend): Promise<SpecSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', runner, '--backend', backend, '--json'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = stdout.trimEnd().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as SpecSummary);
      } catch {
        reject(
          new Error(
            `tfjs-specs.ts --backend ${backend} exited ${code ?? signal} without a summary:\n` +
              `${stdout.slice(-2000)}\n${stderr.slice(-4000)}`,
          ),
        );
      }
    });
  });
}

let cpu: SpecSummary;
let anneal: SpecSummary;
let cudaHost: SpecSummary;

before(async () => {
  // Processes on the machine's cores; each bundles and runs ~4,200 specs in a few seconds.
  [cpu, anneal, cudaHost] = await Promise.all([
    runSpecs('cpu'),
    problem ? (undefined as unknown as SpecSummary) : runSpecs('anneal-cpu'),
    runSpecs('anneal-cuda-host'),
  ]);
});

const failuresOf = (s: SpecSummary) =>
  s.failures.map((f) => `${f.name}: ${f.messages.join(' | ')}`).join('\n');

test('tfjs-core specs: the tfjs-backend-cpu reference run passes', { skip }, (t) => {
  t.diagnostic(summaryLine(cpu));
  assert.equal(cpu.failed, 0, failuresOf(cpu));
  assert.ok(cpu.passed > 4000, `only ${cpu.passed} specs passed: the bundle lost spec files`);
});

for (const name of ['anneal-cpu', 'anneal-cuda-host'] as const) {
  const summaryOf = () => (name === 'anneal-cpu' ? anneal : cudaHost);
  const skipIt = name === 'anneal-cpu' ? skip : false;

  test(`tfjs-core specs: nothing fails on ${name}`, { skip: skipIt }, (t) => {
    const run = summaryOf();
    t.diagnostic(summaryLine(run));
    assert.equal(run.failed, 0, failuresOf(run));
    assert.equal(run.specs, run.passed + run.failed + run.pending + run.excluded, 'counts add up');
    // The run exercised the native kernels rather than only their fallbacks.
    assert.ok(Object.keys(run.nativeCalls).length > 0, 'no native kernel ran');
  });

  test(
    `tfjs-core specs: ${name} passes every spec tfjs-backend-cpu passes`,
    { skip: skipIt },
    () => {
      const run = summaryOf();
      const count = (s: SpecSummary, status: string) => {
        const counts = new Map<string, number>();
        for (const [spec, st] of s.results) {
          if (st === status) counts.set(spec, (counts.get(spec) ?? 0) + 1);
        }
        return counts;
      };
      const defined = new Map<string, number>();
      for (const [spec] of run.results) defined.set(spec, (defined.get(spec) ?? 0) + 1);
      const passed = count(run, 'passed');
      const excluded = count(run, 'excluded');
      const lost: string[] = [];
      let cpuOnly = 0;
      for (const [spec, n] of count(cpu, 'passed')) {
        const missing = n - (defined.get(spec) ?? 0);
        if (missing > 0) {
          if (CPU_ONLY_SUITES.some((s) => spec.startsWith(`${s.suite} <backend> `))) {
            cpuOnly += missing;
          } else {
            lost.push(`${spec} (not defined on ${name})`);
          }
        }
        const notPassed = Math.min(n, defined.get(spec) ?? 0) - (passed.get(spec) ?? 0);
        if (notPassed > (excluded.get(spec) ?? 0)) lost.push(spec);
      }
      assert.deepEqual(lost, [], `specs cpu passes that ${name} neither passes nor excludes`);
      assert.ok(
        run.passed >= cpu.passed - cpuOnly - run.excluded,
        `${name} passed ${run.passed}, cpu ${cpu.passed} (${cpuOnly} cpu-only, ` +
          `${run.excluded} excluded)`,
      );
    },
  );
}

test('tfjs-core specs: every exclusion states its reason', () => {
  for (const e of EXCLUSIONS) {
    assert.ok(e.reason.trim().length > 0, `exclusion "${e.spec}" has no reason`);
  }
  for (const e of CPU_ONLY_SUITES) {
    assert.ok(e.reason.trim().length > 0, `cpu-only suite "${e.suite}" has no reason`);
  }
});

test('tfjs-core specs: every exclusion still matches a spec', () => {
  for (const run of problem ? [cpu, cudaHost] : [cpu, anneal, cudaHost]) {
    for (const e of run.exclusions) {
      assert.ok(e.matched > 0, `stale exclusion on ${run.backend}: "${e.spec}" matches no spec`);
    }
    assert.equal(
      run.excluded,
      run.exclusions.reduce((n, e) => n + e.matched, 0),
    );
  }
});
