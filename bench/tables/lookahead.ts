/**
 * Lookahead under the evidence protocol (bench/lookahead.ts): the protocol's table (arms, the
 * paired verdict), then each arm's test accuracy at each learning rate of the grid, mean ± sd over
 * seeds, with its best and worst cell. Written into bench/README.md.
 */
import { renderProtocol, type ProtocolResult } from '../lib/experiment.js';
import { markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';

function renderLookahead(r: ProtocolResult & ResultBase): string {
  const lrs = (r.records[0]?.extra?.lrs as number[] | undefined) ?? [];
  const rows = r.protocol.arms.map((arm) => {
    const runs = r.records.filter((x) => x.arm === arm.name);
    const cell = (i: number) => runs.map((x) => (x.extra!.accuracies as number[])[i]);
    return [
      arm.name,
      ...lrs.map((_, i) => meanSpread(cell(i))),
      meanSpread(runs.map((x) => x.extra!.best as number)),
      meanSpread(runs.map((x) => x.extra!.worst as number)),
    ];
  });
  const perLr = markdownTable(
    ['arm', ...lrs.map((lr) => `lr ${lr} (%)`), 'best cell (%)', 'worst cell (%)'],
    rows,
  );
  return [
    renderProtocol(r),
    'Per learning rate, mean ± sd over seeds (reported without a verdict):',
    perLr,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = { lookahead: renderLookahead };
