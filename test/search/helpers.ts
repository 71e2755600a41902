/**
 * The search suites' base recipe: an MLP with 8 hidden units on 240 synthetic samples, batches of
 * 32 (216 samples after the 10% validation split: 7 steps an epoch), js kernels on tfjs's cpu.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecipe } from '../../src/runs/recipe.js';
import { readJournal, type SearchResult } from '../../src/search/index.js';

export const base = parseRecipe(
  {
    data: { name: 'synthetic', limit: 240 },
    model: { name: 'mlp', options: { hidden: [8] } },
    batchSize: 32,
    kernels: 'js',
    backend: 'cpu',
    schedules: { lr: 'cosine' },
  },
  { source: 'test' },
);

/** What an interrupted-and-resumed search must share with an uninterrupted one (search.json). */
export function searchDecisions(out: string) {
  const r = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
  return {
    status: r.status,
    trials: r.trials.map((t) => ({
      trial: t.trial,
      status: t.status,
      config: t.config,
      results: t.results.map((x) => [x.rung, x.resource, x.score, x.loss, x.steps]),
    })),
    best: r.best,
  };
}

/** The jobs a search's journal has reported so far (none before it exists). */
export function reportedJobs(out: string) {
  return existsSync(join(out, 'journal.json'))
    ? readJournal(out).flatMap((e) => (e.type === 'report' ? [e.job] : []))
    : [];
}
