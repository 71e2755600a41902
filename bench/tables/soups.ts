/**
 * Model soups under the evidence protocol (bench/soups.ts): the protocol's table (arms, the paired
 * verdict of greedy_soup - best_single), then what is reported without a verdict (uniform_soup -
 * best_single, the soups' held-out accuracy, the greedy soup's size, the pre-training), and each
 * ingredient's held-out and test accuracy over seeds with how often it was the best single one and
 * how often the greedy soup took it. Written into bench/README.md; the chart
 * bench/results/soups-ingredients.svg shows one seed's ingredients and soups.
 */
import { soupChart, type ChartSpec } from '../../src/report/charts.js';
import { mean } from '../../src/stats.js';
import {
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
} from '../lib/experiment.js';
import {
  markdownTable,
  meanSpread,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';
// Type-only: bench/soups.ts is a script, and `import type` does not run it.
import type { SeedRun } from '../soups.js';

/** Each seed's run (from the first record of that seed that has one), in seed order. */
function seedRuns(r: ProtocolResult): { seed: number; run: SeedRun }[] {
  const bySeed = new Map<number, SeedRun>();
  for (const x of r.records) {
    const run = x.extra?.run as SeedRun | undefined;
    if (run && !bySeed.has(x.seed)) bySeed.set(x.seed, run);
  }
  return [...bySeed.entries()].sort(([a], [b]) => a - b).map(([seed, run]) => ({ seed, run }));
}

/**
 * How the greedy soup's held-out accuracy changed when ingredient k was averaged in (the average
 * with it minus the soup before it), in a seed where it was not the first tried; none for runs
 * recorded before the trace kept `tried`.
 */
function triedChange(run: SeedRun, k: number): number[] {
  const at = run.greedy.trace.findIndex((t) => t.candidate === k);
  const tried = run.greedy.trace[at]?.tried;
  if (at < 1 || tried === undefined) return [];
  return [tried - run.greedy.trace[at - 1].heldOut];
}

function renderSoups(r: ProtocolResult & ResultBase): string {
  const runs = seedRuns(r).map((x) => x.run);
  const n = runs.length;
  const soups = markdownTable(
    ['model', 'held-out accuracy (%)', 'test accuracy (%)', 'ingredients'],
    [
      [
        'best single (best held-out)',
        meanSpread(runs.map((x) => x.bestSingle.heldOut)),
        meanSpread(runs.map((x) => x.bestSingle.test)),
        '1',
      ],
      [
        'uniform soup',
        meanSpread(runs.map((x) => x.uniform.heldOut)),
        meanSpread(runs.map((x) => x.uniform.test)),
        runs.length ? String(runs[0].ingredients.length) : '–',
      ],
      [
        'greedy soup',
        meanSpread(runs.map((x) => x.greedy.heldOut)),
        meanSpread(runs.map((x) => x.greedy.test)),
        runs.map((x) => x.greedy.members.length).join(', ') || '–',
      ],
    ],
  );
  const differences = markdownTable(
    ['comparison (test accuracy, points)', 'paired difference [95% CI]'],
    [
      ['uniform_soup - best_single', intervalText(pairedValues(r, 'uniform_soup', 'best_single'))],
      ['greedy_soup - uniform_soup', intervalText(pairedValues(r, 'greedy_soup', 'uniform_soup'))],
    ],
  );
  // Ingredients by position: the same hyper-parameters in every seed (each its own data order).
  const names = runs[0]?.ingredients.map((i) => i.name) ?? [];
  const ingredients = markdownTable(
    [
      'ingredient',
      'held-out (%)',
      'test (%)',
      'best single in',
      'in the greedy soup in',
      'held-out change when tried (points)',
    ],
    names.map((name, k) => {
      const of = runs.map((x) => x.ingredients[k]).filter((i) => i !== undefined);
      const changes = runs.flatMap((x) => triedChange(x, k));
      return [
        name,
        meanSpread(of.map((i) => i.heldOut)),
        meanSpread(of.map((i) => i.test)),
        `${runs.filter((x) => x.best === k).length} of ${n} seeds`,
        `${of.filter((i) => i.inGreedy).length} of ${n} seeds`,
        changes.length ? `${meanSpread(changes)} (${changes.length} seeds)` : '–',
      ];
    }),
  );
  const pre = runs.map((x) => x.pretrain.sourceTest);
  const minutes = mean(runs.map((x) => x.seconds)) / 60;
  const heldOut = (r.config.finetune as { heldOut?: string } | undefined)?.heldOut;
  return [
    renderProtocol(r),
    "Reported without a verdict: the soups and the best single ingredient on held-out and test data, mean ± sd over seeds (ingredients: the greedy soup's size in each seed; its held-out accuracy is >= the best single one's by construction), and the paired differences:",
    soups,
    differences,
    `Each ingredient, mean ± sd over seeds (held-out: ${heldOut ?? 'training samples never trained on'}, which rank the ingredients and drive the greedy soup). The pre-trained model's test accuracy on its own task: ${meanSpread(pre)}%; ${Number.isFinite(minutes) ? `${minutes.toFixed(1)} min` : '–'} a seed on average.`,
    ingredients,
  ].join('\n\n');
}

/**
 * One seed's soup (the lowest recorded): each ingredient's test accuracy, best held-out first
 * (the order the greedy soup tries them), filled when the greedy soup took it; the two soups as
 * rules.
 */
function soupsCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const first = seedRuns(r)[0];
  if (!first) return {};
  const { seed, run } = first;
  const order = run.greedy.trace.map((t) => t.candidate);
  return {
    'soups-ingredients': soupChart(
      order.map((k) => ({
        name: run.ingredients[k].name,
        accuracy: run.ingredients[k].test / 100,
        selected: run.ingredients[k].inGreedy,
      })),
      [
        { name: 'uniform soup', accuracy: run.uniform.test / 100 },
        { name: 'greedy soup', accuracy: run.greedy.test / 100 },
      ],
      {
        title: `Model soups, seed ${seed} (greedy: ${run.greedy.members.length} of ${run.ingredients.length}): test accuracy, best held-out first`,
      },
    ),
  };
}

export const renderers: Record<string, Renderer> = { soups: renderSoups };
export const charts: Record<string, ChartsRenderer> = { soups: soupsCharts };
