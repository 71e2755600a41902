/**
 * The anneal-cpu backend bench (bench/backend.ts): a training step on anneal-cpu against wasm
 * and PyTorch CPU from the same run, with where anneal-cpu's step goes.
 */
import type { BackendRow } from '../backend.js';
import { markdownTable, provenance, type Renderer, type ResultBase } from '../lib/tables.js';

export interface BackendResult extends ResultBase {
  config: {
    batches: number[];
    threads: number;
    torch: string | null;
    blas: string | null;
    /** PyTorch's runs; each row is the best (absent: one run). */
    torchRuns?: number;
  };
  rows: BackendRow[];
}

function renderBackend(r: BackendResult): string {
  const find = (model: string, batch: number, backend: string) =>
    r.rows.find((x) => x.model === model && x.batch === batch && x.backend === backend);
  const keys = [...new Set(r.rows.map((x) => `${x.model}|${x.batch}`))];
  const table = markdownTable(
    [
      'model',
      'batch',
      'wasm ms',
      'anneal-cpu ms',
      'PyTorch ms',
      'vs wasm',
      'vs PyTorch',
      'native ms',
      'fallback ms',
      'other ms',
    ],
    keys.map((key) => {
      const [model, batch] = [key.split('|')[0], Number(key.split('|')[1])];
      const w = find(model, batch, 'wasm')!;
      const a = find(model, batch, 'anneal-cpu')!;
      const p = find(model, batch, 'torch');
      return [
        model,
        String(batch),
        w.ms.toFixed(1),
        a.ms.toFixed(1),
        p ? p.ms.toFixed(1) : '–',
        `${(w.ms / a.ms).toFixed(2)}x`,
        p ? `${(p.ms / a.ms).toFixed(2)}x` : '–',
        a.nativeMs!.toFixed(1),
        a.fallbackMs!.toFixed(1),
        (a.meanMs - a.nativeMs! - a.fallbackMs!).toFixed(1),
      ];
    }),
  );
  const torch = r.config.torch
    ? `PyTorch ${r.config.torch} (${r.config.blas} BLAS on one thread, oneDNN convolutions, channels-last${
        (r.config.torchRuns ?? 1) > 1 ? `; the best of ${r.config.torchRuns} runs` : ''
      })`
    : 'PyTorch not measured (no python3 with torch)';
  return [
    `Training step (forward, softmax cross-entropy, backward, SGD update, read the loss), median ms. anneal-cpu and ${torch} on ${r.config.threads} threads, wasm on one. "vs" is the other's time over anneal-cpu's (above 1: anneal-cpu is faster). anneal-cpu's mean step splits into native kernels, tfjs-backend-cpu fallbacks and the rest (tfjs dispatch, allocation, JavaScript).`,
    '',
    table,
    '',
    provenance(r),
  ].join('\n');
}

export const renderers: Record<string, Renderer> = { backend: renderBackend };
