/**
 * `anneal list [kind]`: the names a flag or a recipe can use (training methods, schedules,
 * optimizers, models, tfjs backends), one line each with what it is, read from the registries themselves so
 * the list cannot fall behind them (what timm.list_models and Composer's algorithm registry give
 * their users).
 */
import { Argument, type Command } from 'commander';
import { hostDeviceProblem } from '../backend/index.js';
import { probeCuda } from '../kernels/index.js';
import { BACKEND_PREFERENCE, describeBackends } from '../engine/index.js';
import { METHODS } from '../methods/registry.js';
import { MODEL_NAMES } from '../models/index.js';
import { OPTIMIZERS } from '../optim/registry.js';
import { describeSchedules } from '../schedules/index.js';
import { maxOf } from '../stats.js';

export const LIST_KINDS = [
  'methods',
  'schedules',
  'optimizers',
  'models',
  'backends',
  'all',
] as const;
export type ListKind = (typeof LIST_KINDS)[number];

/** Name-aligned lines under a heading. */
function section(heading: string, rows: readonly [string, string][]): string {
  const width = maxOf(rows.map(([name]) => name.length));
  const lines = rows.map(([name, what]) => `  ${name.padEnd(width)}  ${what}`.trimEnd());
  return [heading, ...lines].join('\n');
}

const SECTIONS: Record<Exclude<ListKind, 'all'>, () => string> = {
  methods: () =>
    section(
      'methods (--methods, methods.use in a recipe; options as JSON: [{"name":"mixup","alpha":0.4}]):',
      Object.values(METHODS).map((m) => [m.name, m.summary]),
    ),
  schedules: () =>
    section(
      'schedules (--schedule, schedules.lr in a recipe; options as JSON: {"name":"cosine"}):',
      describeSchedules().map((e) => [e.name, `${e.summary} (${e.options.join(', ')})`]),
    ),
  optimizers: () =>
    section(
      'optimizers (--optimizer; each also as lookahead_<name>):',
      [...OPTIMIZERS.values()].map((o) => [o.name, o.description]),
    ),
  models: () =>
    section(
      'models (--model; their options in src/models/README.md):',
      MODEL_NAMES.map((name) => [name, '']),
    ),
  backends: () => {
    // Why anneal's own backends cannot start here (the others say so when asked for).
    const problems: Record<string, () => string | null> = {
      'anneal-cpu': hostDeviceProblem,
      'anneal-cuda': () => {
        const probe = probeCuda();
        return probe.ok ? null : (probe.reason ?? 'no GPU');
      },
    };
    return section(
      `backends (--backend; auto takes the first that starts of ${BACKEND_PREFERENCE.join(', ')}):`,
      describeBackends().map(({ name, summary }) => {
        const problem = problems[name]?.() ?? null;
        return [name, problem ? `${summary} (not available here: ${problem})` : summary];
      }),
    );
  },
};

export function listing(kind: ListKind): string {
  const kinds = kind === 'all' ? (Object.keys(SECTIONS) as (keyof typeof SECTIONS)[]) : [kind];
  return kinds.map((k) => SECTIONS[k]()).join('\n\n');
}

export function addListCommand(program: Command): void {
  program
    .command('list')
    .description(
      'list the names a flag or recipe can use: methods, schedules, optimizers, models, backends',
    )
    .addArgument(new Argument('[kind]', 'what to list').choices(LIST_KINDS).default('all'))
    .action((kind: ListKind) => console.log(listing(kind)));
}
