/** Search spaces: seeded sampling within bounds, log-uniform quantiles, checks naming the field. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyConfig, parseSpace, sampleConfig } from '../../src/search/index.js';
import { parseRecipe } from '../../src/runs/recipe.js';

const base = parseRecipe({ data: 'synthetic', model: 'mlp' }, { source: 'test' });

const SPACE = parseSpace({
  'optimizer.lr': { type: 'loguniform', low: 1e-5, high: 1e-1 },
  'optimizer.weightDecay': { type: 'uniform', low: 0, high: 0.2 },
  batchSize: { type: 'uniform', low: 16, high: 20, int: true },
  'schedules.lr': { type: 'choice', values: ['cosine', { name: 'linear_to_zero' }] },
});

describe('search space sampling', () => {
  it('is seeded: same seed and trial, same values; another seed or trial, others', () => {
    assert.deepEqual(sampleConfig(SPACE, 3, 7), sampleConfig(SPACE, 3, 7));
    assert.notDeepEqual(sampleConfig(SPACE, 3, 7), sampleConfig(SPACE, 4, 7));
    assert.notDeepEqual(sampleConfig(SPACE, 3, 7), sampleConfig(SPACE, 3, 8));
  });

  it('stays within bounds; int uniform covers low..high inclusive; choice picks listed values', () => {
    const seen = new Set<number>();
    const schedules = new Set<string>();
    for (let t = 0; t < 500; t++) {
      const c = sampleConfig(SPACE, 0, t);
      const lr = c['optimizer.lr'] as number;
      const wd = c['optimizer.weightDecay'] as number;
      const bs = c.batchSize as number;
      assert.ok(lr >= 1e-5 && lr <= 1e-1, `lr ${lr}`);
      assert.ok(wd >= 0 && wd < 0.2, `wd ${wd}`);
      assert.ok(Number.isInteger(bs) && bs >= 16 && bs <= 20, `batch ${bs}`);
      seen.add(bs);
      schedules.add(JSON.stringify(c['schedules.lr']));
    }
    assert.deepEqual([...seen].sort(), [16, 17, 18, 19, 20]);
    assert.deepEqual([...schedules].sort(), ['"cosine"', '{"name":"linear_to_zero"}']);
  });

  it('log-uniform: log(x) is uniform (quartiles at 1e-4, 1e-3, 1e-2 for 1e-5..1e-1)', () => {
    const n = 2000;
    const lrs = Array.from(
      { length: n },
      (_, t) => sampleConfig(SPACE, 1, t)['optimizer.lr'] as number,
    );
    // log10 uniform on [-5, -1]: P(x < 1e-4) = 1/4, P(x < 1e-3) = 1/2, P(x < 1e-2) = 3/4.
    // Binomial sd at n = 2000 is <= 0.011; allow 0.04.
    for (const [edge, p] of [
      [1e-4, 0.25],
      [1e-3, 0.5],
      [1e-2, 0.75],
    ]) {
      const frac = lrs.filter((x) => x < edge).length / n;
      assert.ok(Math.abs(frac - p) < 0.04, `P(lr < ${edge}) = ${frac}, expected ${p}`);
    }
    // A plain uniform on the same range would put ~90% above 1e-2.
  });
});

describe('search space checks', () => {
  it('a sampled configuration is a recipe: nested paths set, parseRecipe checks it', () => {
    const recipe = applyConfig(base, {
      'optimizer.lr': 0.01,
      'model.options.hidden': [8],
      'schedules.lr': 'cosine',
      'methods.use': ['label-smoothing'],
    });
    assert.equal(recipe.optimizer.lr, 0.01);
    assert.equal(recipe.optimizer.name, 'adamw'); // the rest of the base is kept
    assert.deepEqual(recipe.model.options, { hidden: [8] });
    assert.deepEqual(recipe.schedules.lr, { name: 'cosine' });
    assert.deepEqual(recipe.methods.use, ['label-smoothing']);
    assert.throws(
      () => applyConfig(base, { batchSize: 0 }, 'trial 3'),
      (e: Error) => e.message.startsWith('trial 3: batchSize:'),
    );
  });

  it('bad spaces are refused with the path and what was expected', () => {
    const cases: [unknown, string][] = [
      [[], 'expected a JSON object'],
      [{}, 'the space is empty'],
      [
        { 'optimiser.lr': { type: 'uniform', low: 0, high: 1 } },
        '"optimiser.lr" is not a recipe field path',
      ],
      [
        { 'optimizer.lr': { type: 'normal', low: 0, high: 1 } },
        'optimizer.lr: type "normal" is not a distribution',
      ],
      [
        { 'optimizer.lr': { type: 'uniform', low: 1, high: 1 } },
        'optimizer.lr: expected numbers low < high',
      ],
      [{ 'optimizer.lr': { type: 'loguniform', low: 0, high: 1 } }, 'loguniform needs low > 0'],
      [
        { 'optimizer.lr': { type: 'uniform', low: 0.5, high: 2, int: true } },
        'an int uniform needs whole bounds',
      ],
      [{ batchSize: { type: 'choice', values: [] } }, 'choice needs "values"'],
      [{ batchSize: { type: 'choice', values: [8], step: 2 } }, 'unknown key "step"'],
    ];
    for (const [doc, fragment] of cases) {
      assert.throws(
        () => parseSpace(doc, 'space s.json'),
        (e: Error & { code?: string }) =>
          e.code === 'ANNEAL_BAD_SPACE' &&
          e.message.startsWith('space s.json') &&
          e.message.includes(fragment),
        fragment,
      );
    }
  });

  it('with a base recipe, a range that makes a bad recipe names the field and the value', () => {
    assert.throws(
      () =>
        parseSpace(
          { 'optimizer.momentum': { type: 'uniform', low: 0.5, high: 1.5 } },
          'space s.json',
          base,
        ),
      (e: Error) =>
        e.message.startsWith('space s.json: optimizer.momentum = 1.5: optimizer.momentum:'),
    );
    assert.throws(
      () =>
        parseSpace({ batchSize: { type: 'choice', values: [32, 'big'] } }, 'space s.json', base),
      (e: Error) => e.message.includes('batchSize = "big"'),
    );
  });
});
