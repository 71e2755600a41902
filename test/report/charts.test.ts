/**
 * Every chart function returns a Vega-Lite spec that compiles, and its SVG holds the series the
 * input implies: counts of lines, points, bars and cells worked out by hand from the input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from 'vega-lite';
import {
  accuracySparsityChart,
  curveComparisonChart,
  flatnessScatterChart,
  landscape1dChart,
  landscape2dChart,
  layerSparsityChart,
  lrWdHeatmapChart,
  pairedSeedsChart,
  renderSvg,
  scheduleChart,
  searchProgressChart,
  soupChart,
  tradeoffChart,
  trainingCurvesChart,
  type ChartSpec,
  type TradeoffPoint,
} from '../../src/report/charts.js';
import { attr, items, legendLabels, mark, markGroups } from './svg.js';

async function render(spec: ChartSpec): Promise<string> {
  assert.doesNotThrow(() => compile(spec), 'the spec compiles');
  const svg = await renderSvg(spec);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  return svg;
}

const ofType = (svg: string, type: string) => markGroups(svg).filter((g) => g.type === type);

test('training curves: one line per (run, metric), a point per finite value, runs in the legend', async () => {
  const points = [];
  for (const run of ['a', 'b', 'c']) {
    for (let step = 1; step <= 5; step++)
      points.push({ run, metric: 'loss', step, value: 2 / step });
    for (const step of [2, 4]) points.push({ run, metric: 'eval/loss', step, value: 1 / step });
  }
  points.push({ run: 'a', metric: 'loss', step: 6, value: NaN }); // left out
  const svg = await render(trainingCurvesChart(points, { title: 'Loss' }));
  assert.equal(ofType(svg, 'line').length, 3 * 2);
  // 3 runs x (5 + 2) finite values, each drawn as a point (series this short get points).
  assert.equal(ofType(svg, 'symbol').flatMap((g) => g.items).length, 3 * 7);
  assert.deepEqual(
    legendLabels(svg).filter((l) => ['a', 'b', 'c'].includes(l)),
    ['a', 'b', 'c'],
  );
  // By time instead of steps: a record without seconds has no x and is left out.
  const timed = points.map((p, i) => ({ ...p, seconds: i % 2 === 0 ? p.step / 10 : undefined }));
  const expected = timed.filter((p) => p.seconds !== undefined && Number.isFinite(p.value)).length;
  const svg2 = await render(trainingCurvesChart(timed, { x: 'seconds' }));
  assert.equal(ofType(svg2, 'symbol').flatMap((g) => g.items).length, expected);
});

test('schedule chart: one line per series, a rule per cycle end', async () => {
  const points = Array.from({ length: 30 }, (_, t) => ({ step: t, value: 1 - (t % 10) / 10 }));
  const svg = await render(scheduleChart(points, { cycleEnds: [10, 20] }));
  assert.equal(mark(svg, 'schedule').length, 1);
  assert.equal(items(svg, 'cycle_ends').length, 2);
  const momentum = points.map((p) => ({ ...p, value: 0.9, series: 'momentum' }));
  const svg2 = await render(scheduleChart([...points, ...momentum]));
  assert.equal(mark(svg2, 'schedule').length, 2);
  assert.equal(items(svg2, 'cycle_ends').length, 0);
});

test('tradeoff chart: a curve per (recipe, seed), a dot per point, the flagged frontier circled', async () => {
  const points: TradeoffPoint[] = [];
  const recipes = {
    cyclic: [0.9, 0.94, 0.96],
    baseline: [0.88, 0.95, 0.97],
    short: [0.8, 0.85, 0.86],
  };
  for (const [recipe, accs] of Object.entries(recipes)) {
    for (const seed of [0, 1]) {
      accs.forEach((a, i) =>
        points.push({ recipe, seed, timeS: (i + 1) * (1 + seed * 0.1), accuracy: a - seed * 0.01 }),
      );
    }
  }
  // The frontier by brute force: no other point is at least as fast and strictly more accurate.
  for (const p of points) {
    p.frontier = !points.some((q) => q !== p && q.timeS <= p.timeS && q.accuracy > p.accuracy);
  }
  const onFrontier = points.filter((p) => p.frontier).length;
  assert.ok(onFrontier >= 2 && onFrontier < points.length);
  const svg = await render(tradeoffChart(points));
  assert.equal(mark(svg, 'curves').length, 3 * 2);
  assert.equal(items(svg, 'points').length, points.length);
  assert.equal(items(svg, 'frontier_points').length, onFrontier);
  assert.equal(mark(svg, 'frontier').length, 1);
  // A step line through k points has k horizontal and k - 1 vertical segments after its start.
  const d = attr(items(svg, 'frontier')[0], 'd')!;
  assert.equal(d.match(/[LHV]/g)!.length, 2 * onFrontier - 2);
  // Nothing flagged: no frontier drawn.
  const none = await render(tradeoffChart(points.map((p) => ({ ...p, frontier: undefined }))));
  assert.equal(items(none, 'frontier_points').length, 0);
});

test('single-run vs multi-run curves: a line per (curve, seed)', async () => {
  const points = [];
  for (const curve of ['single-run', 'multi-run'])
    for (const seed of [0, 1, 2])
      for (const t of [1, 2, 4])
        points.push({ curve, seed, timeS: t, accuracy: 0.9 + t / 100 + seed / 1000 });
  const svg = await render(curveComparisonChart(points));
  assert.equal(ofType(svg, 'line').length, 6);
  assert.equal(ofType(svg, 'symbol').flatMap((g) => g.items).length, 18);
});

test('accuracy vs sparsity: one mean line per method, a point per (method, sparsity), the dense rule', async () => {
  const points = [];
  for (const method of ['magnitude', 'random'])
    for (const sparsity of [0.5, 0.8, 0.9, 0.95])
      for (const seed of [0, 1, 2])
        points.push({
          method,
          sparsity,
          seed,
          accuracy: 1 - sparsity / (method === 'random' ? 1 : 4) - seed / 100,
        });
  const svg = await render(accuracySparsityChart(points, { dense: 0.99 }));
  assert.equal(mark(svg, 'mean').length, 2);
  const pairs = new Set(points.map((p) => `${p.method}@${p.sparsity}`)).size;
  assert.equal(ofType(svg, 'symbol').flatMap((g) => g.items).length, pairs);
  assert.equal(items(svg, 'dense').length, 1);
});

test('per-layer sparsity: a bar per layer (and per series)', async () => {
  const layers = ['conv1', 'conv2', 'dense1', 'dense2'].map((layer, i) => ({
    layer,
    sparsity: i / 4,
  }));
  const svg = await render(layerSparsityChart(layers));
  const bars = ofType(svg, 'rect').flatMap((g) => g.items);
  assert.equal(bars.length, 4);
  const two = [...layers, ...layers.map((l) => ({ ...l, series: 'global' }))].map((l) => ({
    series: 'layerwise',
    ...l,
  }));
  const svg2 = await render(layerSparsityChart(two));
  assert.equal(ofType(svg2, 'rect').flatMap((g) => g.items).length, 8);
});

test('loss landscapes: a 1-D line per series; a 2-D cell per grid point in at most `levels` colours', async () => {
  const alphas = [-1, -0.5, 0, 0.5, 1];
  const slices = ['train', 'test'].flatMap((series) =>
    alphas.map((alpha) => ({ series, alpha, loss: alpha * alpha })),
  );
  const svg = await render(landscape1dChart(slices));
  assert.equal(mark(svg, 'slice').length, 2);
  assert.equal(items(svg, 'origin').length, 1);

  const xs = [-1, -0.5, 0, 0.5, 1];
  const ys = [-1, 0, 1, 2];
  const grid = xs.flatMap((x) => ys.map((y) => ({ x, y, loss: x * x + 2 * y * y })));
  const svg2 = await render(landscape2dChart(grid, { levels: 4 }));
  const cells = items(svg2, 'grid');
  assert.equal(cells.length, xs.length * ys.length);
  const fills = new Set(cells.map((c) => attr(c, 'fill')));
  assert.ok(fills.size > 1 && fills.size <= 4, `${fills.size} colours`);
  // Cells of equal loss share a colour: (x, y) and (-x, y) have the same loss.
  const fillAt = (x: number, y: number) =>
    attr(cells[grid.findIndex((c) => c.x === x && c.y === y)], 'fill');
  assert.equal(fillAt(-1, 2), fillAt(1, 2));
  assert.notEqual(fillAt(0, 0), fillAt(1, 2));
});

test('soup chart: a dot per ingredient, the taken ones in the soup colour, a rule per soup', async () => {
  const ingredients = [0.91, 0.9, 0.89, 0.85, 0.8].map((accuracy, i) => ({
    name: `m${i}`,
    accuracy,
    selected: i !== 1 && i < 4,
  }));
  const svg = await render(
    soupChart(ingredients, [
      { name: 'uniform', accuracy: 0.88 },
      { name: 'greedy', accuracy: 0.92 },
    ]),
  );
  const dots = items(svg, 'ingredients');
  assert.equal(dots.length, 5);
  assert.equal(dots.filter((d) => attr(d, 'fill') === '#2a7ab9').length, 3);
  assert.equal(items(svg, 'soups').length, 2);
});

test('search progress: bars of trials per rung in proportion, a score line per trial', async () => {
  const trials = [];
  const alive = [8, 4, 2];
  for (let rung = 0; rung < alive.length; rung++)
    for (let t = 0; t < alive[rung]; t++)
      trials.push({
        trial: t,
        rung,
        score: 0.5 + rung / 10 + t / 100,
        promoted: t < (alive[rung + 1] ?? 0),
      });
  const svg = await render(searchProgressChart(trials));
  const bars = items(svg, 'trials_per_rung');
  assert.equal(bars.length, 3);
  // Each bar's height is the 'v' of its path: proportional to the trial counts 8:4:2.
  const heights = bars.map((b) => Number(/v(-?[\d.]+)/.exec(attr(b, 'd')!)![1]));
  assert.ok(
    Math.abs(heights[0] / heights[1] - 2) < 0.02 && Math.abs(heights[1] / heights[2] - 2) < 0.02,
    String(heights),
  );
  assert.equal(ofType(svg, 'line').length, 8);
  assert.equal(ofType(svg, 'symbol').flatMap((g) => g.items).length, 14);
});

test('lr x weight-decay heatmap: a cell and its printed value per setting, one panel per series', async () => {
  const lrs = [1e-4, 1e-3, 1e-2];
  const wds = [0, 1e-5, 1e-4, 1e-3];
  const cells = lrs.flatMap((lr, i) =>
    wds.map((weightDecay, j) => ({ lr, weightDecay, value: 0.5 + i / 10 + j / 100 })),
  );
  const svg = await render(lrWdHeatmapChart(cells));
  assert.equal(items(svg, 'cells').length, 12);
  const texts = [...mark(svg, 'labels')[0].items.keys()].length;
  assert.equal(texts, 12);
  const printed = [...svg.matchAll(/<text[^>]*>(0\.\d{3})<\/text>/g)].map((m) => m[1]).sort();
  assert.deepEqual(printed, cells.map((c) => c.value.toFixed(3)).sort());
  const two = ['adam', 'adamw'].flatMap((series) => cells.map((c) => ({ ...c, series })));
  const svg2 = await render(lrWdHeatmapChart(two));
  assert.equal(items(svg2, 'cells').length, 24);
});

test('flatness scatter: a dot per model and a fitted line with the sign of the correlation', async () => {
  const points = [1, 2, 3, 4, 5].map((f) => ({
    name: `m${f}`,
    flatness: f,
    accuracy: 0.95 - f / 100,
    group: f % 2 ? 'sgd' : 'adam',
  }));
  const svg = await render(flatnessScatterChart(points));
  assert.equal(items(svg, 'models').length, 5);
  const fit = items(svg, 'fit');
  assert.equal(fit.length, 1);
  // SVG y grows downwards: accuracy falling with flatness makes the line end lower than it starts.
  const ys = [...attr(fit[0], 'd')!.matchAll(/[ML][\d.-]+,([\d.-]+)/g)].map((m) => Number(m[1]));
  assert.ok(ys[ys.length - 1] > ys[0], `fit ${attr(fit[0], 'd')}`);
});

test('renderSvg rejects an invalid spec and gives each render its own ids', async () => {
  await assert.rejects(
    renderSvg({ mark: 'nonsense', data: { values: [] } } as unknown as ChartSpec),
  );
  const spec = lrWdHeatmapChart([
    { lr: 1, weightDecay: 0, value: 1 },
    { lr: 2, weightDecay: 0, value: 2 },
  ]);
  const ids = async () => [...(await renderSvg(spec)).matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  const [a, b] = [await ids(), await ids()];
  assert.ok(a.length > 0);
  assert.equal(a.filter((id) => b.includes(id)).length, 0);
});

test('accuracy axes are labelled in percent', async () => {
  const points: TradeoffPoint[] = [0.55, 0.7, 0.95].map((accuracy, i) => ({
    recipe: 'r',
    timeS: i + 1,
    accuracy,
  }));
  const svg = await render(tradeoffChart(points));
  const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  // The y axis spans 0.55..0.95: its ticks read 60%, 70%, 80%, 90% (and no bare fractions).
  for (const tick of ['60%', '70%', '80%', '90%']) assert.ok(labels.includes(tick), tick);
  assert.ok(!labels.includes('0.60') && !labels.includes('0.6'));
  const curves = await render(
    trainingCurvesChart(
      [1, 2, 3].map((step) => ({
        run: 'a',
        metric: 'eval/accuracy',
        step,
        value: 0.5 + step / 10,
      })),
      { percent: true },
    ),
  );
  assert.match(curves, />80%</);
});

test('paired seeds: a grey line per seed across the arms, a dot per run, a tick at each mean', async () => {
  const runs = [0, 1, 2, 3, 4].flatMap((seed) => [
    { arm: 'adam', seed, value: 88 + seed / 10 },
    { arm: 'lookahead', seed, value: 87 + seed / 10 },
    { arm: 'sgd', seed, value: seed === 4 ? NaN : 86 },
  ]);
  const svg = await render(pairedSeedsChart(runs, { yTitle: 'test accuracy (%)' }));
  assert.equal(mark(svg, 'seeds').length, 5);
  assert.equal(items(svg, 'runs').length, 14);
  const ticks = items(svg, 'means');
  assert.equal(ticks.length, 3);
  // The means 88.2, 87.2 and 86 (seed 4's NaN left out): the second gap is 1.2 times the first.
  // Each tick's SVG y is its path's starting point, in the arms' order.
  const ys = ticks.map((t) => Number(/d="M[\d.-]+,([\d.-]+)/.exec(t)![1]));
  assert.ok(ys[0] < ys[1] && ys[1] < ys[2], String(ys));
  const gap = (ys[2] - ys[1]) / (ys[1] - ys[0]);
  assert.ok(Math.abs(gap - 1.2) < 0.02, `gap ratio ${gap}`);
});
