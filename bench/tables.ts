/**
 * Regenerates the results tables from bench/results/<name>.json (never the .smoke.json files):
 * each table sits between `<!-- table:<name> -->` and `<!-- /table:<name> -->` in any of the
 * markdown files that carry results (bench/README.md, README.md and the cards under src/), and
 * is replaced whole. One renderer per result name: the core ones below, and one module per area
 * in bench/tables/<area>.ts exporting `renderers`. To add a result, add a renderer and put the
 * two markers where the table belongs.
 *
 * Provenance is checked first (bench/README.md, "Protocol"): a result recorded on a dirty tree, or
 * at a commit that is not an ancestor of HEAD, fails the run and nothing is written, unless it is
 * marked legacy. Results that follow the evidence protocol (bench/lib/experiment.ts) also fill
 * the Evidence table (`<!-- table:evidence -->`) and, without a renderer of their own, a default
 * table per experiment.
 *
 * Usage: npm run bench:tables [-- --unchecked: skip the provenance check, to preview locally]
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { renderSvg } from '../src/report/charts.js';
import {
  fixed,
  markdownTable,
  percent,
  provenance,
  replaceSection,
  sci,
  type ChartsRenderer,
  type Renderer,
  type SectionsRenderer,
  type ResultBase,
} from './lib/tables.js';
import { maxOf } from '../src/stats.js';
import {
  isProtocolResult,
  protocolCharts,
  renderEvidence,
  renderEvidenceCard,
  renderProtocol,
} from './lib/experiment.js';
import { provenanceProblem } from './lib/results.js';

export { markdownTable, provenance, replaceSection, type ResultBase } from './lib/tables.js';

const benchDir = dirname(fileURLToPath(import.meta.url));

// ---- train ------------------------------------------------------------------------------------

interface Goal {
  value: number;
  target: number;
  met: boolean;
}

export interface TrainResult extends ResultBase {
  config: { batchSize: number; reps: number; kernels: string; threads: number };
  targets?: { cnnRatio: Goal; cnnOverhead: Goal; cnnAnnealCpuSpeedup?: Goal };
  skipped: string[];
  rows: {
    backend: string;
    model: string;
    params: number;
    trainerSamplesPerSec: number;
    fitSamplesPerSec: number;
    ratio: number;
    trainerStepMs: number;
    forwardBackwardMs: number;
    gatherMs: number;
    fusedStepMs: number;
    writeBackMs: number;
    overheadFraction: number;
    restFraction: number;
  }[];
}

function renderTrain(r: TrainResult): string {
  const onWasm = (model: string) => r.rows.find((x) => x.model === model && x.backend === 'wasm');
  const table = markdownTable(
    [
      'backend',
      'model',
      'params',
      'Trainer samples/s',
      'vs wasm',
      'model.fit samples/s',
      'ratio',
      'step ms',
      'fwd+bwd ms',
      'gather ms',
      'fused step ms',
      'write-back ms',
      'overhead',
      'rest',
    ],
    r.rows.map((row) => [
      row.backend,
      row.model,
      row.params.toLocaleString('en'),
      fixed(row.trainerSamplesPerSec, 0),
      `${fixed(row.trainerSamplesPerSec / (onWasm(row.model)?.trainerSamplesPerSec ?? NaN), 2)}x`,
      fixed(row.fitSamplesPerSec, 0),
      fixed(row.ratio, 2),
      fixed(row.trainerStepMs, 1),
      fixed(row.forwardBackwardMs, 1),
      fixed(row.gatherMs, 2),
      fixed(row.fusedStepMs, 2),
      fixed(row.writeBackMs, 2),
      percent(row.overheadFraction),
      percent(row.restFraction),
    ]),
  );
  const t = r.targets;
  const met = (g: Goal) => (g.met ? 'met' : 'not met');
  const speedup = t?.cnnAnnealCpuSpeedup;
  const goals = t
    ? `Goals for the CNN on wasm: ratio >= ${t.cnnRatio.target} (measured ${fixed(t.cnnRatio.value, 2)}, ` +
      `${met(t.cnnRatio)}); overhead < ${percent(t.cnnOverhead.target, 0)} of a step ` +
      `(measured ${percent(t.cnnOverhead.value)}, ${met(t.cnnOverhead)})` +
      (speedup
        ? `; the Trainer on anneal-cpu >= ${speedup.target}x its samples/s on wasm (measured ` +
          `${fixed(speedup.value, 2)}x, ${met(speedup)}).`
        : '.')
    : '';
  return [
    `Trainer (AdamW, ${r.config.kernels} kernels) vs tfjs \`model.fit\` with \`tf.train.adam\`, on ` +
      `each tfjs backend (wasm: one thread; anneal-cpu: ${r.config.threads}), batch ` +
      `${r.config.batchSize}, median of ${r.config.reps} epochs. "vs wasm": the Trainer's ` +
      'samples/s over its samples/s on wasm. Overhead = gradient gather + fused step + ' +
      'write-back, as a fraction of a step; rest = what is left of a step besides those and the ' +
      'forward/backward.' +
      r.skipped.map((line) => ` Not measured: ${line}.`).join(''),
    '',
    table,
    '',
    goals,
    '',
    provenance(r),
  ].join('\n');
}

// ---- adamw-decoupling -------------------------------------------------------------------------

export interface DecouplingResult extends ResultBase {
  config: {
    trainSamples: number;
    testSamples: number;
    epochs: number;
    batchSize: number;
    model: string;
    hidden: number[];
    seeds: number[];
  };
  grids: {
    optimizer: string;
    label: string;
    decoupled: boolean;
    lrs: number[];
    decays: number[];
    cells: { lr: number; decay: number; testAccuracy: number }[];
    analysis: { argmax: { perLr: { lr: number; decay: number }[] } };
  }[];
  findings: string[];
}

function renderDecoupling(r: DecouplingResult): string {
  const c = r.config;
  const grids = r.grids.map((g) => {
    const bestOf = new Map(g.analysis.argmax.perLr.map((b) => [b.lr, b.decay]));
    const rows = g.lrs.map((lr) => [
      sci(lr),
      ...g.decays.map((d) => {
        const cell = g.cells.find((x) => x.lr === lr && x.decay === d);
        const text = percent(cell?.testAccuracy);
        return bestOf.get(lr) === d ? `**${text}**` : text;
      }),
    ]);
    const decayName = g.decoupled ? 'λ (per-step decay)' : 'L2';
    return [
      `**${g.label}** (\`${g.optimizer}\`): rows learning rate, columns ${decayName}`,
      '',
      markdownTable([`lr \\ ${g.decoupled ? 'λ' : 'L2'}`, ...g.decays.map(sci)], rows),
    ].join('\n');
  });
  return [
    `MNIST test accuracy of an MLP (${c.hidden.join('-')}) after ${c.epochs} epochs on ` +
      `${c.trainSamples} training samples (batch ${c.batchSize}; ${c.testSamples} test samples), ` +
      `mean of ${c.seeds.length} seed${c.seeds.length === 1 ? '' : 's'}. ` +
      'Bold: the best weight decay of each learning rate that trains (within 5 points of the grid best). ' +
      "Decoupled decay uses the paper's parametrisation, w <- (1 - λ) w each step; anneal's " +
      'adamw/momentumw were run with weightDecay = λ / lr.',
    '',
    ...grids.flatMap((g) => [g, '']),
    ...r.findings.map((f) => `- ${f}`),
    '',
    provenance(r),
  ].join('\n');
}

// ---- lr-range ---------------------------------------------------------------------------------

export interface LrRangeResult extends ResultBase {
  config: {
    epochs: number;
    batchSize: number;
    range: { minLr: number; maxLr: number; steps: number };
  };
  rows: {
    model: string;
    optimizer: string;
    trainSamples: number;
    sweep: { lr: number; testAccuracy: number }[];
    bestLr: number;
    bestAccuracy: number;
    bestInsideBounds: boolean;
    rangeTest: {
      stopReason: string;
      steps: number;
      suggestions: {
        steepest: number | null;
        minimumOver10: number | null;
        bounds: { min: number; max: number } | null;
      };
    };
    suggestionAccuracy: { steepest: number | null; minimumOver10: number | null };
  }[];
}

function renderLrRange(r: LrRangeResult): string {
  const c = r.config;
  const rows = r.rows.map((row) => {
    const s = row.rangeTest.suggestions;
    return [
      `${row.model} / ${row.optimizer}`,
      `${sci(row.bestLr)} (${percent(row.bestAccuracy)})`,
      `${sci(s.steepest)} (${percent(row.suggestionAccuracy.steepest)})`,
      `${sci(s.minimumOver10)} (${percent(row.suggestionAccuracy.minimumOver10)})`,
      s.bounds ? `${sci(s.bounds.min)} – ${sci(s.bounds.max)}` : '–',
      row.bestInsideBounds ? 'yes' : 'no',
      row.sweep.map((t) => `${sci(t.lr)}: ${percent(t.testAccuracy)}`).join(', '),
    ];
  });
  return [
    `LR range test (${c.range.steps} steps, ${sci(c.range.minLr)} to ${sci(c.range.maxLr)}, exponential) ` +
      `against constant learning rates trained ${c.epochs} epochs (batch ${c.batchSize}) from the same ` +
      "initial weights; MNIST test accuracy in brackets. Suggestions: fastai's steepest fall and " +
      "minimum / 10, Smith's CLR bounds (where the smoothed loss starts and stops falling).",
    '',
    markdownTable(
      [
        'setting',
        'best sweep lr',
        'steepest',
        'minimum / 10',
        'Smith bounds',
        'best inside bounds',
        'sweep',
      ],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'l', 'l'],
    ),
    '',
    provenance(r),
  ].join('\n');
}

// ---- engine -----------------------------------------------------------------------------------

export interface EngineResult extends ResultBase {
  config: { batch: number };
  results: {
    model: string;
    backend: string;
    stockMs: number | null;
    stockError?: string;
    oursMs: number;
    speedup: number | null;
    forwardMs: number;
  }[];
}

function renderEngine(r: EngineResult): string {
  return [
    `Training step (forward, backward, SGD update) at batch ${r.config.batch}, median ms: tfjs's ` +
      "stock gradient kernels vs anneal's, and the forward pass alone for scale.",
    '',
    markdownTable(
      ['model', 'backend', 'stock ms', 'anneal ms', 'speedup', 'forward ms', 'step / forward'],
      r.results.map((c) => [
        c.model,
        c.backend,
        c.stockError ?? fixed(c.stockMs, 1),
        fixed(c.oursMs, 1),
        c.speedup === null ? '–' : `${fixed(c.speedup, 1)}x`,
        fixed(c.forwardMs, 1),
        `${fixed(c.oursMs / c.forwardMs, 1)}x`,
      ]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    provenance(r),
  ].join('\n');
}

// ---- kernels ----------------------------------------------------------------------------------

interface Ratio {
  value: number;
  target: number;
  met: boolean;
}

export interface KernelsResult extends ResultBase {
  targets: {
    n: number;
    copyGBps: number;
    wasmBandwidthOfCopy: { min: number; median: number; target: number; below: string[] };
    adamwVsTfjsWasm: Ratio;
    adamwWasmVsJs?: Ratio;
    adamwHostVsWasm?: Ratio;
    selectionVsSort: Ratio;
  }[];
  rows: {
    n: number;
    backend: string;
    op: string;
    bound: string;
    ms: number;
    gbps: number;
    ofCopy: number;
  }[];
}

function renderKernels(r: KernelsResult): string {
  const hostRatios = r.targets.some((t) => t.adamwHostVsWasm !== undefined);
  const ratio = (x: Ratio | undefined) =>
    x === undefined
      ? '–'
      : `${fixed(x.value, 1)}x (goal ${x.target}x, ${x.met ? 'met' : 'not met'})`;
  const targets = markdownTable(
    [
      'N',
      'copy GB/s',
      'wasm ops, of copy (min / median)',
      'AdamW wasm vs tfjs-wasm Adam',
      'AdamW wasm vs js',
      ...(hostRatios ? ['AdamW host vs wasm'] : []),
      'selection vs sort',
    ],
    r.targets.map((t) => [
      t.n.toLocaleString('en'),
      fixed(t.copyGBps, 1),
      `${percent(t.wasmBandwidthOfCopy.min, 0)} / ${percent(t.wasmBandwidthOfCopy.median, 0)}`,
      ratio(t.adamwVsTfjsWasm),
      ratio(t.adamwWasmVsJs),
      ...(hostRatios ? [ratio(t.adamwHostVsWasm)] : []),
      ratio(t.selectionVsSort),
    ]),
  );
  const n = maxOf(r.rows.map((row) => row.n));
  const at = r.rows.filter((row) => row.n === n);
  const ops = [...new Set(at.filter((row) => row.bound !== 'reference').map((row) => row.op))];
  const gbps = (backend: string, op: string) =>
    at.find((x) => x.backend === backend && x.op === op);
  // A fraction of the copy bandwidth means something only for bandwidth-bound ops.
  // The host kernels (anneal_cpu.node, on threads) where the run had them.
  const withHost = at.some((row) => row.backend === 'host');
  const ofCopy = (row: (typeof at)[number] | undefined) =>
    row?.bound === 'bandwidth' ? percent(row.ofCopy, 0) : '–';
  const opsTable = markdownTable(
    [
      'op',
      'bound',
      'js GB/s',
      'wasm GB/s',
      'wasm ms',
      'wasm, of copy',
      ...(withHost ? ['host GB/s', 'host ms', 'host, of copy'] : []),
    ],
    ops.map((op) => {
      const wasm = gbps('wasm', op);
      const host = gbps('host', op);
      return [
        op,
        wasm?.bound ?? gbps('js', op)?.bound ?? '',
        fixed(gbps('js', op)?.gbps, 2),
        fixed(wasm?.gbps, 2),
        fixed(wasm?.ms, 3),
        ofCopy(wasm),
        ...(withHost ? [fixed(host?.gbps, 2), fixed(host?.ms, 3), ofCopy(host)] : []),
      ];
    }),
    ['l', 'l', 'r', 'r', 'r', 'r', ...(withHost ? (['r', 'r', 'r'] as const) : [])],
  );
  const references = at
    .filter((row) => row.bound === 'reference')
    .map(
      (row) =>
        `${row.op} (${row.backend}) ${fixed(row.ms, 3)} ms${Number.isFinite(row.gbps) ? `, ${fixed(row.gbps, 2)} GB/s` : ''}`,
    );
  return [
    'Targets per vector length N:',
    '',
    targets,
    '',
    `Every op at N = ${n.toLocaleString('en')} float32 (references: ${references.join('; ')}):`,
    '',
    opsTable,
    '',
    provenance(r),
  ].join('\n');
}

// ---- methods ----------------------------------------------------------------------------------

export interface MethodsResult extends ResultBase {
  config: {
    trainSamples: number;
    testSamples: number;
    epochs: number;
    batchSize: number;
    model: string;
    optimizer: { name: string; lr: number };
    seeds: number[];
    kernelsUsed: string;
  };
  budget: { totalMinutes: number };
  rows: {
    label: string;
    group: 'methods' | 'bag-of-tricks';
    methods: { name: string; options: Record<string, unknown> }[];
    batchSize: number;
    /** The method whose card shows this control row too. */
    controlFor?: string;
    meanAccuracy: number;
    stdAccuracy: number;
    meanTrainSeconds: number;
    meanSteps: number;
    delta: number | null;
    deltaInBaselineStd: number | null;
    runs: { seed: number }[];
  }[];
}

function renderMethods(r: MethodsResult): Record<string, string> {
  const c = r.config;
  const options = (row: MethodsResult['rows'][number]) =>
    row.methods
      .map((m) => JSON.stringify(m.options))
      .filter((o) => o !== '{}')
      .join(' ');
  const table = (group: MethodsResult['rows'][number]['group'], first: string, only?: string) =>
    markdownTable(
      [
        first,
        'options',
        'seeds',
        'test accuracy',
        'std',
        'Δ points',
        'Δ / baseline std',
        'steps',
        's / run',
      ],
      r.rows
        .filter((row) => row.group === group || row.label === 'baseline')
        .filter(
          (row) =>
            only === undefined || [only, 'baseline'].includes(row.label) || row.controlFor === only,
        )
        .map((row) => [
          row.label,
          options(row) ? `\`${options(row)}\`` : '',
          String(row.runs.length),
          percent(row.meanAccuracy, 2),
          fixed(100 * row.stdAccuracy, 2),
          row.delta === null ? '–' : fixed(100 * row.delta, 2),
          row.deltaInBaselineStd === null ? '–' : fixed(row.deltaInBaselineStd, 1),
          String(row.meanSteps),
          fixed(row.meanTrainSeconds, 1),
        ]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    );
  const hasBag = r.rows.some((row) => row.group === 'bag-of-tricks');
  const setting =
    `MNIST test accuracy (${c.testSamples} test samples) of the ${c.model} after ${c.epochs} epochs on ` +
    `${c.trainSamples} training samples (batch ${c.batchSize}, ${c.optimizer.name} lr ` +
    `${sci(c.optimizer.lr)}, ${c.kernelsUsed} kernels), mean and sample std (points) over the ` +
    'seeds in the seeds column (seeds 0, 1, ...: initial weights and data order).';
  const all = [
    setting +
      ' Δ points: mean difference from the baseline on the same seeds (seed s against seed s); ' +
      "Δ / baseline std: that over the baseline's std across all its seeds (the seed-to-seed " +
      'noise). A 3-seed std is itself rough (and the test accuracy moves in steps of 1 / test ' +
      "samples): read Δ next to both rows' std, not the ratio alone. steps: optimizer steps per run (smaller batches " +
      'take more in the same epochs). s / run: training plus the final evaluation. ' +
      `Compute budget: ${fixed(r.budget.totalMinutes, 1)} minutes for the whole run.`,
    '',
    table('methods', 'method'),
    ...(hasBag
      ? [
          '',
          'Bag of Tricks, adding one trick at a time (each row has the tricks of the rows above; ' +
            "rows before no-bias-decay decay biases too, the paper's baseline; zero-init-gamma is " +
            'left out: the CNN has no residual BatchNorm):',
          '',
          table('bag-of-tricks', 'tricks'),
        ]
      : []),
    '',
    provenance(r),
  ].join('\n');
  // Each method card gets its own row against the baseline (the card's folder is the label).
  const cards: Record<string, string> = {};
  const cardRows = r.rows.filter(
    (x) => x.group === 'methods' && x.label !== 'baseline' && x.controlFor === undefined,
  );
  for (const row of cardRows) {
    cards[`methods/${row.label}`] = [
      `${setting} The whole comparison is in [bench/README.md](../../../bench/README.md#training-methods-issue-5).`,
      '',
      table('methods', 'method', row.label),
      '',
      provenance(r),
    ].join('\n');
  }
  if (hasBag) {
    cards['methods/bag-of-tricks'] = [
      setting + ' Adding one trick at a time (each row has the tricks of the rows above):',
      '',
      table('bag-of-tricks', 'tricks'),
      '',
      provenance(r),
    ].join('\n');
  }
  return { methods: all, ...cards };
}

// ---- the registry and the README --------------------------------------------------------------

/** The renderers and chart makers of bench/tables/<area>.ts (.ts under tsx, .js in dist/). */
async function areaModules(): Promise<{
  renderers: Record<string, Renderer>;
  charts: Record<string, ChartsRenderer>;
}> {
  const renderers: Record<string, Renderer> = {};
  const charts: Record<string, ChartsRenderer> = {};
  const dir = join(benchDir, 'tables');
  if (!existsSync(dir)) return { renderers, charts };
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'))
    .sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as {
      renderers?: Record<string, Renderer>;
      charts?: Record<string, ChartsRenderer>;
    };
    for (const [kind, found, add] of [
      ['renderer', renderers, mod.renderers],
      ['chart maker', charts, mod.charts],
    ] as const) {
      for (const [name, fn] of Object.entries(add ?? {})) {
        if (found[name]) throw new Error(`bench/tables/${file}: a second ${kind} for '${name}'`);
        (found as Record<string, unknown>)[name] = fn;
      }
    }
  }
  return { renderers, charts };
}

const AREAS = await areaModules();

export const RENDERERS: Readonly<Record<string, SectionsRenderer>> = {
  train: renderTrain,
  'adamw-decoupling': renderDecoupling,
  'lr-range': renderLrRange,
  engine: renderEngine,
  kernels: renderKernels,
  methods: renderMethods,
  ...AREAS.renderers,
};

/** The markdown sections of one result by section name; undefined when no renderer knows it. */
export function renderResult(result: ResultBase): Record<string, string> | undefined {
  const render = RENDERERS[result.name] ?? (isProtocolResult(result) ? renderProtocol : undefined);
  if (!render) return undefined;
  const out = render(result);
  const sections = typeof out === 'string' ? { [result.name]: out } : out;
  // A method card shows its experiment's verdict in `<!-- table:evidence-<name> -->`.
  if (isProtocolResult(result)) sections[`evidence-${result.name}`] = renderEvidenceCard(result);
  return sections;
}

/** The markdown files that may hold tables: bench/README.md, README.md and every README.md under src/. */
function markdownFiles(root: string): string[] {
  const files = [join(root, 'bench', 'README.md'), join(root, 'README.md')];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === 'README.md') files.push(path);
    }
  };
  walk(join(root, 'src'));
  return files.filter((f) => existsSync(f));
}

async function main(): Promise<void> {
  // Under tsx this file is bench/tables.ts; compiled, dist/bench/tables.js: the sources are in
  // the repository root either way.
  const root = existsSync(join(benchDir, '..', 'package.json'))
    ? join(benchDir, '..')
    : join(benchDir, '..', '..');
  const resultsDir = join(root, 'bench', 'results');
  const originals = new Map(markdownFiles(root).map((f) => [f, readFileSync(f, 'utf8')]));
  const docs = new Map(originals);
  const files = existsSync(resultsDir)
    ? readdirSync(resultsDir).filter((f) => f.endsWith('.json') && !f.endsWith('.smoke.json'))
    : [];
  const results = files.sort().map((file) => ({
    file,
    result: {
      ...(JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as ResultBase),
      name: basename(file, '.json'),
    },
  }));
  if (!process.argv.includes('--unchecked')) {
    const problems = results.flatMap(({ result }) => provenanceProblem(result, root) ?? []);
    if (problems.length > 0) {
      for (const p of problems) console.error(p);
      console.error(
        `bench:tables: ${problems.length} result(s) cannot be published (nothing written); ` +
          '--unchecked previews the tables anyway',
      );
      process.exitCode = 1;
      return;
    }
  }
  const evidence = renderEvidence(results.map((x) => x.result).filter(isProtocolResult));
  for (const [path, text] of docs) {
    const updated = replaceSection(text, 'evidence', evidence);
    if (updated !== null) docs.set(path, updated);
  }
  for (const { file, result } of results) {
    const name = result.name;
    const sections = renderResult(result);
    if (sections === undefined) {
      console.log(`skipped ${file}: no renderer for '${name}' (add one in bench/tables/)`);
    }
    for (const [section, table] of Object.entries(sections ?? {})) {
      const targets: string[] = [];
      for (const [path, text] of docs) {
        const updated = replaceSection(text, section, table);
        if (updated === null) continue;
        docs.set(path, updated);
        targets.push(relative(root, path));
      }
      if (targets.length > 0) console.log(`table:${section} <- ${file} -> ${targets.join(', ')}`);
      // A card's evidence section is optional: an experiment without a card has none.
      else if (!section.startsWith('evidence-'))
        console.log(`skipped ${file}: no <!-- table:${section} --> markers`);
    }
    // Charts: SVG files next to the results, with fixed ids so that regenerating changes nothing.
    const specs = {
      ...(isProtocolResult(result) ? protocolCharts(result) : {}),
      ...AREAS.charts[name]?.(result),
    };
    for (const [chart, spec] of Object.entries(specs)) {
      const path = join(resultsDir, `${chart}.svg`);
      const svg = await renderSvg(spec, { idPrefix: `${chart}-` });
      if (!existsSync(path) || readFileSync(path, 'utf8') !== svg) writeFileSync(path, svg);
      console.log(`chart ${relative(root, path)} <- ${file}`);
    }
  }
  // Formatted as `npm run lint` expects (prettier aligns the tables' columns).
  for (const [path, text] of docs) {
    const options = await prettier.resolveConfig(path);
    const formatted = await prettier.format(text, { ...options, filepath: path });
    if (formatted !== originals.get(path)) writeFileSync(path, formatted);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
