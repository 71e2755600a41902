/**
 * Single-run tradeoff curves under the evidence protocol (bench/tradeoff-curves.ts): the
 * protocol's table (arms, the paired verdict), then each recipe's test accuracy at each budget
 * under the single cyclic run and under separate runs, their paired differences (signed and
 * absolute) per budget with 95% intervals, the cost of each approach in steps and seconds, and
 * whether the recipes' order at each budget agrees (no verdict but the primary's). Written into
 * bench/README.md; the chart is bench/results/tradeoff-curves-accuracy.svg.
 */
import type { ChartSpec } from '../../src/report/charts.js';
import { mean } from '../../src/stats.js';
import {
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
  type RunRecord,
} from '../lib/experiment.js';
import {
  markdownTable,
  meanSpread,
  type ChartsRenderer,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

/** What bench/tradeoff-curves.ts keeps in each record's `extra`. */
interface CurveExtra {
  recipe: string;
  kind: 'single' | 'separate';
  budgetSteps: number[];
  budgetEpochs: number[];
  /** Test accuracy (%) at each budget. */
  atBudget: number[];
  /** Cumulative training seconds at each point (of the separate run that made it, for separate). */
  trainSeconds: number[];
}

const extraOf = (x: RunRecord) => x.extra as unknown as CurveExtra;
const runsOf = (r: ProtocolResult, arm: string) => r.records.filter((x) => x.arm === arm);

/** The recipes in plan order (each has a single:<recipe> and a separate:<recipe> arm). */
function recipesOf(r: ProtocolResult): string[] {
  const names = r.protocol.arms.map((a) => a.name.replace(/^(single|separate):/, ''));
  return [...new Set(names)];
}

const meanAt = (r: ProtocolResult, arm: string, i: number): number => {
  const xs = runsOf(r, arm)
    .map((x) => extraOf(x).atBudget[i])
    .filter((x) => Number.isFinite(x));
  return xs.length > 0 ? mean(xs) : NaN;
};

/** Recipes from most to least accurate at budget i under `kind` (mean over seeds). */
function order(r: ProtocolResult, recipes: string[], kind: string, i: number): string[] {
  return recipes
    .map((recipe) => ({ recipe, acc: meanAt(r, `${kind}:${recipe}`, i) }))
    .filter((x) => Number.isFinite(x.acc))
    .sort((a, b) => b.acc - a.acc)
    .map((x) => x.recipe);
}

/** Kendall's tau between two orders of the same items (1: the same order, -1: reversed). */
function kendallTau(a: string[], b: string[]): number {
  const pos = new Map(b.map((x, i) => [x, i]));
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const d = pos.get(a[j])! - pos.get(a[i])!;
      if (d > 0) concordant++;
      else if (d < 0) discordant++;
    }
  }
  const pairs = (a.length * (a.length - 1)) / 2;
  return pairs > 0 ? (concordant - discordant) / pairs : NaN;
}

function renderTradeoffCurves(r: ProtocolResult & ResultBase): string {
  const first = r.records[0];
  if (!first) return renderProtocol(r);
  const e = extraOf(first);
  const recipes = recipesOf(r);
  const budgets = e.budgetEpochs.map((ep, i) => `${e.budgetSteps[i]} steps (${ep} ep)`);

  const accuracy = markdownTable(
    ['recipe', 'run', ...budgets.map((b) => `${b}, %`)],
    recipes.flatMap((recipe) =>
      (['single', 'separate'] as const).map((kind) => [
        recipe,
        kind,
        ...e.budgetSteps.map((_, i) =>
          meanSpread(runsOf(r, `${kind}:${recipe}`).map((x) => extraOf(x).atBudget[i])),
        ),
      ]),
    ),
    ['l', 'l', ...budgets.map((): 'r' => 'r')],
  );

  const { primary } = r.protocol.claim;
  const later = e.budgetSteps.map((_, i) => i).slice(1);
  const differences = markdownTable(
    [
      'recipe',
      'budget',
      'single - separate (points) [95% CI]',
      'abs(single - separate) (points) [95% CI]',
      'seeds',
    ],
    recipes.flatMap((recipe) => {
      const [s, m] = [`single:${recipe}`, `separate:${recipe}`];
      const rows = e.budgetSteps.map((_, i) => {
        const d = pairedValues(r, s, m, (x) => extraOf(x).atBudget[i]);
        return [
          recipe,
          budgets[i] + (i === 0 ? ' (the same run: 0 by construction)' : ''),
          intervalText(d, undefined, { seeds: false }),
          intervalText(
            d.map((x) => Math.abs(x)),
            undefined,
            { seeds: false, signed: false },
          ),
          String(d.length),
        ];
      });
      const d = pairedValues(r, s, m);
      // Per seed: the mean over budgets 2..n of |single - separate|.
      const absolute = runsOf(r, s)
        .map((x) => {
          const other = runsOf(r, m).find((y) => y.seed === x.seed);
          if (!other) return NaN;
          const at = (y: RunRecord, i: number) => extraOf(y).atBudget[i];
          return mean(later.map((i) => Math.abs(at(x, i) - at(other, i))));
        })
        .filter((x) => Number.isFinite(x));
      rows.push([
        recipe,
        `mean of budgets 2-${e.budgetSteps.length}` +
          (s === primary.arm && m === primary.baseline ? ' (primary: the verdict above)' : ''),
        intervalText(d, undefined, { seeds: false }),
        intervalText(absolute, undefined, { seeds: false, signed: false }),
        String(d.length),
      ]);
      return rows;
    }),
    ['l', 'l', 'r', 'r', 'r'],
  );

  const cost = markdownTable(
    [
      'recipe',
      'single steps',
      'separate steps',
      'ratio (steps)',
      'single train s',
      'separate train s',
      'ratio (s)',
    ],
    recipes.map((recipe) => {
      const s = r.protocol.arms.find((a) => a.name === `single:${recipe}`);
      const m = r.protocol.arms.find((a) => a.name === `separate:${recipe}`);
      const singleSeconds = runsOf(r, `single:${recipe}`).map((x) =>
        extraOf(x).trainSeconds.at(-1)!,
      );
      const separateSeconds = runsOf(r, `separate:${recipe}`).map((x) =>
        extraOf(x).trainSeconds.reduce((a, b) => a + b, 0),
      );
      const ss = singleSeconds.length ? mean(singleSeconds) : NaN;
      const ms = separateSeconds.length ? mean(separateSeconds) : NaN;
      return [
        recipe,
        String(s?.steps ?? '–'),
        String(m?.steps ?? '–'),
        s && m ? `${(m.steps / s.steps).toFixed(2)}x` : '–',
        Number.isFinite(ss) ? ss.toFixed(1) : '–',
        Number.isFinite(ms) ? ms.toFixed(1) : '–',
        Number.isFinite(ss) && Number.isFinite(ms) ? `${(ms / ss).toFixed(2)}x` : '–',
      ];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );

  const ranking = markdownTable(
    [
      'budget',
      'order under single runs',
      'order under separate runs',
      'same order',
      "Kendall's tau",
    ],
    e.budgetSteps.map((_, i) => {
      const a = order(r, recipes, 'single', i);
      const b = order(r, recipes, 'separate', i);
      const same = a.length === b.length && a.every((x, j) => x === b[j]);
      return [
        budgets[i],
        a.join(' > '),
        b.join(' > '),
        same ? 'yes' : 'no',
        a.length === b.length ? kendallTau(a, b).toFixed(2) : '–',
      ];
    }),
    ['l', 'l', 'l', 'l', 'r'],
  );

  return [
    renderProtocol(r),
    "Test accuracy at each budget, mean ± sd over seeds: single is the one cyclic run at the end of each cycle, separate a run of that length with one linear decay to zero. A separate run of budget 1 is the single run's first cycle (same seed, schedule and data order), so the two agree there by construction: a check of the pairing.",
    accuracy,
    "Paired differences single - separate per recipe and budget, and their absolute values, mean [95% t-interval] over seeds, reported without a verdict but the primary's (the last row of each recipe: per seed, the mean over budgets 2 to n, the metric; its absolute column is the per-seed mean of the absolute per-budget differences).",
    differences,
    'Cost of the curve: optimizer steps (a separate run per budget trains the sum of the budgets, the single run the last one) and training seconds, mean over seeds (evaluation excluded; background runs shared the cores, so seconds are a guide).',
    cost,
    'Do single runs rank the recipes as separate runs do? The recipes by mean accuracy over seeds at each budget, most accurate first (reported without a verdict; differences between recipes may be within noise).',
    ranking,
  ].join('\n\n');
}

/** Test accuracy against epochs, mean over seeds: each recipe's single run and separate runs. */
function tradeoffCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const first = r.records[0];
  if (!first) return {};
  const e = extraOf(first);
  const rows: { recipe: string; run: string; epochs: number; accuracy: number }[] = [];
  for (const recipe of recipesOf(r)) {
    for (const kind of ['single', 'separate']) {
      e.budgetEpochs.forEach((epochs, i) => {
        const acc = meanAt(r, `${kind}:${recipe}`, i);
        if (Number.isFinite(acc)) {
          rows.push({
            recipe,
            run: kind === 'single' ? 'single cyclic run' : 'separate runs',
            epochs,
            accuracy: acc,
          });
        }
      });
    }
  }
  return {
    'tradeoff-curves-accuracy': {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `${r.protocol.claim.paper}: accuracy vs budget, one cyclic run vs separate runs`,
      width: 400,
      height: 260,
      background: 'white',
      data: { values: rows },
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: {
          field: 'epochs',
          type: 'quantitative',
          title: 'budget (epochs)',
          scale: { type: 'log' },
        },
        y: {
          field: 'accuracy',
          type: 'quantitative',
          title: 'test accuracy (%), mean over seeds',
          scale: { zero: false },
        },
        color: { field: 'recipe', type: 'nominal', title: 'recipe' },
        strokeDash: { field: 'run', type: 'nominal', title: null },
        shape: { field: 'run', type: 'nominal', title: null },
      },
    } as ChartSpec,
  };
}

export const renderers: Record<string, Renderer> = { 'tradeoff-curves': renderTradeoffCurves };
export const charts: Record<string, ChartsRenderer> = { 'tradeoff-curves': tradeoffCharts };
