/**
 * Hand-written run directories, shaped like `anneal train`'s: config.json, log.jsonl and (for
 * a finished run) summary.json, with a known loss and accuracy at every step.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

export interface FakeRun {
  steps: number;
  /** The run's planned length, if longer than the steps logged so far. */
  maxSteps?: number;
  /** Steps per epoch: an epoch_end and an eval_end record after each. */
  epochSteps: number;
  /** Leave summary.json out: a run still training. */
  running?: boolean;
  lr?: (step: number) => number;
}

export const lossAt = (step: number) => 2 / (1 + step);
export const evalAccuracyAt = (step: number) => 0.5 + step / 1000;

export function writeRun(dir: string, run: FakeRun): string {
  mkdirSync(dir, { recursive: true });
  const recipe = {
    data: { name: 'mnist', limit: 256 },
    model: { name: 'mlp' },
    optimizer: { name: 'adamw', lr: 0.003 },
    schedules: { lr: { name: 'cosine' } },
    methods: { use: ['label-smoothing'] },
    duration: `${run.steps / run.epochSteps}ep`,
    batchSize: 32,
  };
  const engine = { backend: 'wasm', kernels: 'js' };
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ recipe, engine }));
  const records: object[] = [
    { event: 'run', recipe, engine },
    {
      event: 'fit_start',
      step: 0,
      trainSeconds: 0,
      lr: 0.003,
      maxSteps: run.maxSteps ?? run.steps,
    },
  ];
  for (let step = 1; step <= run.steps; step++) {
    const when = { step, trainSeconds: step / 10, samples: step * 32, lr: run.lr?.(step) ?? 0.003 };
    records.push({ event: 'batch_end', ...when, loss: lossAt(step), samplesPerSecond: 320 });
    if (step % run.epochSteps === 0) {
      records.push({
        event: 'epoch_end',
        ...when,
        'train/loss': lossAt(step),
        'train/accuracy': 0.6,
      });
      records.push({
        event: 'eval_end',
        ...when,
        'eval/loss': lossAt(step),
        'eval/accuracy': evalAccuracyAt(step),
      });
    }
  }
  writeFileSync(join(dir, 'log.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (!run.running) {
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify({
        backend: 'wasm',
        kernels: 'js',
        steps: run.steps,
        samples: run.steps * 32,
        trainSeconds: run.steps / 10,
        samplesPerSecond: 320,
        test: { accuracy: evalAccuracyAt(run.steps), loss: lossAt(run.steps), count: 100 },
        stopReason: null,
        machine: { cpu: 'Test CPU', cores: 2 },
      }),
    );
  }
  return dir;
}

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A request to the viewer at `url` with the path sent exactly as written (fetch would normalise
 * '..' away), and optionally another Host header.
 */
export function viewerRequest(
  url: string,
  path: string,
  opts: { method?: string; host?: string } = {},
): Promise<Reply> {
  const port = new URL(url).port;
  const headers = opts.host === undefined ? {} : { Host: opts.host };
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => ok({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', fail);
    req.end();
  });
}
