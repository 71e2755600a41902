/**
 * General cyclical training under the evidence protocol (bench/cyclical-training.ts): the
 * protocol's table (arms, the paired verdict of cyclical_wd - constant), then every arm against
 * the constant: its test accuracy and test loss, mean ± sd over seeds, its optimizer steps, and
 * its paired differences from the constant with their 95% t-intervals (the cyclical_wd row is
 * the primary comparison; the others are reported without a verdict). Written into
 * bench/README.md.
 */
import {
  extraNumber as num,
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
} from '../lib/experiment.js';
import { markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';

const BASELINE = 'constant';

/** What an arm cycles, from its recorded settings: `weightDecay 0.00025 -> 0.00075 -> 0.00025`. */
function cycleText(settings: unknown): string {
  const cycle = (settings as { cycle?: unknown } | undefined)?.cycle as
    { kind: string; min: number; max: number } | null | undefined;
  if (!cycle) return 'nothing (constant)';
  const [easy, hard] = cycle.kind === 'batchSize' ? [cycle.max, cycle.min] : [cycle.min, cycle.max];
  return `${cycle.kind} ${easy} → ${hard} → ${easy}`;
}

function renderCyclicalTraining(r: ProtocolResult & ResultBase): string {
  const primary = r.protocol.claim.primary.arm;
  const points = (x: number) => x.toFixed(2);
  const fixed4 = (x: number) => x.toFixed(4);
  const rows = r.protocol.arms.map((arm) => {
    const runs = r.records.filter((x) => x.arm === arm.name);
    const steps = runs.map((x) => num(x, 'steps')).find((x) => Number.isFinite(x)) ?? arm.steps;
    const isBase = arm.name === BASELINE;
    return [
      arm.name + (arm.name === primary ? ' (primary)' : ''),
      cycleText(arm.settings),
      steps.toLocaleString('en-US'),
      meanSpread(runs.map((x) => x.metric)),
      meanSpread(
        runs.map((x) => num(x, 'testLoss')),
        4,
      ),
      isBase ? '–' : intervalText(pairedValues(r, arm.name, BASELINE), points),
      isBase
        ? '–'
        : intervalText(
            pairedValues(r, arm.name, BASELINE, (x) => num(x, 'testLoss')),
            fixed4,
          ),
    ];
  });
  const table = markdownTable(
    [
      'arm',
      'cycles (easy → hard → easy)',
      'steps',
      'test accuracy (%)',
      'test loss',
      `arm - ${BASELINE}, accuracy (points) [95% CI]`,
      `arm - ${BASELINE}, test loss [95% CI]`,
    ],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  );
  return [
    renderProtocol(r),
    `Every arm against ${BASELINE}, paired by seed (the same samples in every arm; the batch-size arm takes more, smaller steps); mean ± sd over seeds. Only ${primary} - ${BASELINE} carries a verdict; the other rows are reported without one.`,
    table,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = {
  'cyclical-training': renderCyclicalTraining,
};
