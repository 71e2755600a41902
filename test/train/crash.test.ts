/**
 * Crash consistency: a run that checkpoints every step, SIGKILLed at 10 seeded random moments
 * (many land inside a checkpoint write), resumed after each kill, ends with weights bit-identical
 * to the same run trained straight, and leaves no temp file once a later start has cleaned up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Rng } from '../../src/data/index.js';
import { packageRoot } from '../../src/package-root.js';
import { loadCheckpoint, resolveCheckpointPath } from '../../src/train/checkpoint.js';
import { Trainer } from '../../src/train/trainer.js';
import { killRunOptions, paramsOf, useTfCpu } from './helpers.js';

before(useTfCpu);

const STEPS = 160; // killRunOptions: 400 samples, batch 20, 8 epochs
const KILLS = 10;

/** Starts the child run; resolves once it has exited, killing it at `killAt` steps (+ a jitter). */
function runChild(runDir: string, mode: 'fresh' | 'resume', killAt: number, jitterMs: number) {
  const script = join(packageRoot(), 'test/train/train-child.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, runDir, mode, '0', '1ba'], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<{ killed: boolean }>((resolve, reject) => {
    let text = '';
    let armed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const steps = [...text.matchAll(/step (\d+)\n/g)];
      const last = Number(steps.at(-1)?.[1] ?? 0);
      if (!armed && last >= killAt) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), jitterMs);
      }
    });
    child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true });
      else if (code === 0) resolve({ killed: false });
      else reject(new Error(`child exited ${code}`));
    });
  });
}

const tempFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

test(`${KILLS} SIGKILLs at random moments, each resumed: the final weights are bit-identical`, async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'anneal-crash-'));
  const checkpoints = join(runDir, 'checkpoints');
  const rng = new Rng(20261203);
  // Kill points spread over the run, in increasing order, each with 0-3 ms of jitter.
  const killAt = Array.from({ length: KILLS }, () => 1 + rng.int(STEPS - 2)).sort((a, b) => a - b);
  let killed = 0;
  let tempSeen = 0;
  for (const [i, at] of killAt.entries()) {
    const r = await runChild(runDir, i === 0 ? 'fresh' : 'resume', at, rng.int(4));
    if (!r.killed) break;
    killed++;
    tempSeen += tempFiles(checkpoints).length;
    // Whatever the kill interrupted, `latest` names a complete, loadable checkpoint.
    loadCheckpoint(resolveCheckpointPath(runDir));
  }
  // The last start runs to the end (and removes the temp files of the killed writers).
  assert.deepEqual(await runChild(runDir, 'resume', Infinity, 0), { killed: false });
  assert.ok(killed >= KILLS - 2, `only ${killed} of the kills landed before the run ended`);
  assert.deepEqual(tempFiles(checkpoints), [], `temp files left (seen after kills: ${tempSeen})`);

  const final = loadCheckpoint(resolveCheckpointPath(runDir));
  assert.equal((final.meta.timestamp as { step: number }).step, STEPS);
  const resumed = final.tensors
    .filter((t) => t.name.startsWith('param:'))
    .flatMap((t) => [...t.data]);

  const straight = new Trainer(killRunOptions());
  await straight.fit();
  const reference = [...paramsOf(straight)];
  straight.dispose();
  assert.equal(resumed.length, reference.length);
  assert.deepEqual(resumed, reference);
});
