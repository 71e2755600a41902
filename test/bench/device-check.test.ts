/**
 * The GPU device check (bench/device-check.sh) in its dry run, without a GPU: the bundles the GPU
 * run carries are built (bench/device-bundles.ts, into dist/device/ and .device/mnist/), then
 * the script runs every backend section on anneal-cuda-host (the host build of the CUDA device)
 * in place of anneal-cuda, at dry sizes; ANNEAL_DEVICE_CHECK_SKIP=tests, since npm test runs the
 * kernel tests itself (the bundled device op tests do run: their bundling is under test).
 * Checked: the summary passes and holds every section's record; the spec bundle gives exactly
 * CI's spec results (test/backend/tfjs-specs.ts on the same backend, run here from source); the
 * backend bench's rows compare the same networks as PyTorch's where a python3 here has torch.
 * The parity section compares with anneal-cpu, so it is skipped where the host device is not
 * built (with ANNEAL_REQUIRE_HOST=1, as in CI, that fails instead).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostDeviceProblem } from '../../src/backend/index.js';
import type { SpecSummary } from '../backend/tfjs-specs.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
const skip = problem ?? false;
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a command in the repository; its stdout, or an error with the end of its output. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else {
        const tail = `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`;
        reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}:\n${tail}`));
      }
    });
  });
}

const lastLine = (text: string) => JSON.parse(text.trimEnd().split('\n').at(-1)!);

let out: string;
let summary: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let logs: string;
let reference: SpecSummary;
let dryStdout: string;

before(async () => {
  if (skip) return;
  out = mkdtempSync(join(tmpdir(), 'anneal-device-check-'));
  // CI's spec runner (the reference) beside the bundling and the dry run.
  const specs = run(process.execPath, [
    '--import',
    'tsx',
    'test/backend/tfjs-specs.ts',
    '--backend',
    'anneal-cuda-host',
    '--json',
  ]).then(lastLine);
  // No dist/ staleness check: the dry run skips the kernel tests, and CI builds dist/ fresh.
  const checking = run(process.execPath, [
    '--import',
    'tsx',
    'bench/device-bundles.ts',
    '--no-dist-check',
  ]).then(
    () =>
      run('bash', ['bench/device-check.sh', out], {
        ANNEAL_DEVICE_CHECK_DRY: '1',
        ANNEAL_DEVICE_CHECK_SKIP: 'tests',
      }).catch((e: Error) => e.message), // a failed check still leaves its summary
  );
  [dryStdout, reference] = await Promise.all([checking, specs]);
  summary = JSON.parse(readFileSync(join(out, 'device-check.json'), 'utf8'));
  logs = join(out, 'unpacked');
  await run('bash', ['-c', `mkdir -p "${logs}" && tar -xzf "${out}/logs.tar.gz" -C "${logs}"`]);
});

after(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

test('device check dry run: every section passes, in order', { skip }, () => {
  assert.equal(summary.dry, true);
  assert.deepEqual(summary.problems, [], dryStdout.slice(-4000));
  assert.equal(summary.ok, true);
  const names = (summary.sections as { section: string }[]).map((s) => s.section);
  assert.deepEqual(names, [
    'gpu',
    'tests',
    'backend-ops',
    'backend-specs',
    'backend-parity',
    'backend-mnist',
    'cli-train',
    'torch',
    'bench',
    'torch-train',
    'backend-bench',
    'backend-parity-cudnn',
    'backend-bench-cudnn',
    'trainer-overhead',
  ]);
  const skipped = (summary.sections as { section: string; skipped?: string }[])
    .filter((s) => s.skipped)
    .map((s) => s.section);
  for (const name of ['gpu', 'tests', 'torch', 'backend-parity-cudnn', 'backend-bench-cudnn']) {
    assert.ok(skipped.includes(name), name);
  }
  const backend = ['backend-ops', 'backend-specs', 'backend-parity', 'backend-mnist', 'cli-train'];
  for (const name of [...backend, 'backend-bench', 'trainer-overhead']) {
    assert.ok(!skipped.includes(name), `${name} was skipped`);
  }
});

test('device check dry run: the bundled device op tests ran on the host build', { skip }, () => {
  // Their anneal_cuda.node halves skip without a GPU (a GPU run requires them).
  assert.equal(summary.opTests.fail, 0);
  assert.ok(summary.opTests.pass >= 20, `only ${summary.opTests.pass} op tests passed`);
});

test(
  'device check dry run: the spec bundle gives CI runner results, spec by spec',
  { skip },
  () => {
    const log = readFileSync(join(logs, 'logs', 'backend-specs.log'), 'utf8');
    const bundled = lastLine(log) as SpecSummary;
    assert.equal(bundled.backend, 'anneal-cuda-host');
    assert.equal(bundled.failed, 0);
    assert.ok(bundled.passed > 4000, `only ${bundled.passed} specs passed`);
    assert.deepEqual(bundled.results, reference.results);
    assert.deepEqual(
      [bundled.specs, bundled.passed, bundled.pending, bundled.excluded],
      [reference.specs, reference.passed, reference.pending, reference.excluded],
    );
    assert.equal(summary.specs.passed, bundled.passed);
  },
);

test('device check dry run: parity, MNIST and bench records', { skip }, () => {
  const { parity, mnist } = summary;
  assert.equal(parity.ok, true);
  assert.equal(parity.steps, 60);
  assert.equal(parity.lossDifferenceEvery20.length, 3);
  assert.match(parity.subject.device, /^anneal-cuda-host: host build of the CUDA device/);
  assert.match(parity.reference.device, /^anneal-cpu: /);
  // The optimizer on the same FlatOps on both sides: the runs differ in the backends' kernels.
  assert.deepEqual([parity.subject.kernels, parity.reference.kernels], ['js', 'js']);
  assert.equal(mnist.ok, true);
  assert.equal(mnist.samples, 1000);
  assert.equal(mnist.testSamples, 500);
  assert.equal(mnist.kernels, 'host'); // auto pairs the device's own FlatOps with its tensors

  const bench = JSON.parse(readFileSync(join(out, 'cuda-backend.json'), 'utf8'));
  assert.equal(bench.name, 'cuda-backend');
  assert.equal(bench.smoke, true);
  assert.deepEqual(
    bench.rows.map((r: { model: string; batch: number }) => `${r.model}@${r.batch}`),
    ['mlp@8', 'cnn@8', 'resnet@8'],
  );
  const torchRan = !summary.sections.some(
    (s: { section: string; skipped?: string }) => s.section === 'torch-train' && s.skipped,
  );
  if (torchRan) {
    // Each comparison is of the same network: bench/device-train.ts checks the parameter counts.
    assert.deepEqual(bench.problems, []);
    assert.ok(bench.comparisons.every((c: { ofTorch: number | null }) => c.ofTorch! > 0));
  } else {
    assert.match(bench.config.torchMissing, /torch-train\.json/);
  }
  // The Trainer's three arms at the dry run's batch, each timed.
  assert.deepEqual(
    summary.trainerOverhead.map((r: { batch: number; arm: string }) => `${r.arm}@${r.batch}`),
    ['none@8', 'nan-guard read every step@8', 'nan-guard (default) + grad-clip@8'],
  );
  assert.ok(summary.trainerOverhead.every((r: { ms: number }) => r.ms > 0));
});
