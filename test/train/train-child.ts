/**
 * The training process the kill test starts (and SIGKILLs): the run of killRunOptions, logging
 * every step to <run>/log.jsonl and printing "step N" after each batch, optionally sleeping
 * `delayMs` per step so that a kill lands between checkpoints, and optionally checkpointing at
 * another interval than killRunOptions' (e.g. '1ba': a kill often lands inside a write).
 * Usage: node --import tsx test/train/train-child.ts <run-dir> fresh|resume [delayMs] [interval]
 */
import { join } from 'node:path';
import { JsonlLogger } from '../../src/logs/jsonl.js';
import { Trainer } from '../../src/train/trainer.js';
import { killRunOptions, useTfCpu } from './helpers.js';

const [runDir, mode, delay = '0', interval] = process.argv.slice(2);
const delayMs = Number(delay);
await useTfCpu();
const trainer = new Trainer({
  ...killRunOptions(runDir, interval),
  resumeFrom: mode === 'resume' ? runDir : undefined,
  callbacks: [
    new JsonlLogger(join(runDir, 'log.jsonl'), { everySteps: 1 }),
    {
      async onBatchEnd(state) {
        process.stdout.write(`step ${state.timestamp.step}\n`);
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      },
    },
  ],
});
await trainer.fit();
trainer.dispose();
