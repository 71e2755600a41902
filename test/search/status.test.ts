/**
 * The search's progress line: the resource a plan will train (checked against the totals of
 * src/search/README.md's benchmark, worked out there by hand: Hyperband over 1..9 epochs with
 * eta 3 trains 69 epochs, successive halving of 27 configurations 63) and the line itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusLine } from '../../src/cli/search.js';
import {
  Asha,
  hyperband,
  plannedResource,
  successiveHalving,
  type SearchResult,
} from '../../src/search/index.js';

describe('the planned resource of a search', () => {
  it('Hyperband 1..9 eta 3: 69; SHA of 27 configurations: 27 + 9*2 + 3*6 = 63; ASHA: no plan', () => {
    const opts = { minResource: 1, maxResource: 9, eta: 3 };
    assert.equal(plannedResource(hyperband(opts).progress()), 69);
    assert.equal(plannedResource(successiveHalving({ ...opts, configs: 27 }).progress()), 63);
    assert.equal(plannedResource(new Asha(opts).progress()), null);
  });
});

describe('the progress line', () => {
  const snapshot = (over: Partial<SearchResult>): SearchResult =>
    ({
      unit: 'ep',
      trials: [
        { trial: 0, status: 'paused', results: [{}, {}] },
        { trial: 1, status: 'running', results: [{}] },
        { trial: 2, status: 'failed', results: [] },
      ],
      rungs: hyperband({ minResource: 1, maxResource: 9, eta: 3 }).progress(),
      totalResource: 23,
      seconds: 46,
      ...over,
    }) as unknown as SearchResult;

  it('counts jobs, workers and queued jobs, and an ETA at the rate so far', () => {
    // 23 of 69 epochs in 46 s: 0.5 ep/s, 46 epochs left: 92 s.
    assert.equal(
      statusLine(snapshot({}), { queued: 3, running: 2, workers: 4 }),
      'jobs: 3 done, 2 running, 3 queued, 1 failed · 4 workers · 23/69 ep trained · ETA 1m 32s',
    );
    assert.equal(
      statusLine(snapshot({ totalResource: 0, seconds: 5 })),
      'jobs: 3 done, 1 running, 1 failed · 0/69 ep trained',
    );
  });
});
