/**
 * The search suites' base recipe: an MLP with 8 hidden units on 240 synthetic samples, batches of
 * 32 (216 samples after the 10% validation split: 7 steps an epoch), js kernels on tfjs's cpu.
 */
import { parseRecipe } from '../../src/runs/recipe.js';

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
