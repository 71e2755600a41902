/**
 * Reinitialisation and ALASCA under label noise, under the evidence protocol
 * (bench/label-noise.ts): the protocol's table (arms, the primary comparison's verdict), then a
 * table by noise rate and method: the clean test accuracy at the end of training and the best of
 * any epoch, mean ± sd over seeds, and each method minus the baseline at the same rate, paired by
 * seed, with its 95% t-interval (reported without a verdict). Written into bench/README.md.
 */
import {
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
  type RunRecord,
} from '../lib/experiment.js';
import { markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';

/** An arm's settings as bench/label-noise.ts writes them. */
interface NoiseArmSettings {
  method: string;
  noise: { rate: number; kind: string };
}

const best = (x: RunRecord) => x.extra?.best as number;
const final = (x: RunRecord) => x.metric;

function renderLabelNoise(r: ProtocolResult & ResultBase): string {
  const arms = r.protocol.arms.map((a) => ({ name: a.name, ...(a.settings as NoiseArmSettings) }));
  const rates = [...new Set(arms.map((a) => a.noise.rate))];
  const runsOf = (name: string) => r.records.filter((x) => x.arm === name);
  const rows = rates.flatMap((rate) => {
    const atRate = arms.filter((a) => a.noise.rate === rate);
    const baseline = atRate.find((a) => a.method === 'baseline');
    return atRate.map((a) => {
      const runs = runsOf(a.name);
      const vsBaseline = (value: (x: RunRecord) => number) =>
        a === baseline || !baseline
          ? '–'
          : intervalText(pairedValues(r, a.name, baseline.name, value), undefined, {
              seeds: false,
            });
      return [
        `${Math.round(100 * rate)}% ${a.noise.kind}`,
        a.method,
        String(runs.length),
        meanSpread(runs.map(final)),
        meanSpread(runs.map(best)),
        vsBaseline(final),
        vsBaseline(best),
      ];
    });
  });
  const table = markdownTable(
    [
      'noise',
      'method',
      'seeds',
      'final (%)',
      'best epoch (%)',
      'final - baseline [95% CI]',
      'best epoch - baseline [95% CI]',
    ],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  );
  return [
    renderProtocol(r),
    'Clean test accuracy by noise rate and method, mean ± sd over seeds: at the end of training ' +
      '(final) and the best of any epoch (what an oracle early stop would keep); each method minus ' +
      'the baseline at the same rate, paired by seed, with its 95% t-interval (reported without a ' +
      'verdict, the primary comparison above aside):',
    table,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = { 'label-noise': renderLabelNoise };
