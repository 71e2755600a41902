/**
 * The recipes a tradeoff curve compares, by name: `baseline`, or parts joined by `+`, each a
 * registered training method (`label-smoothing`, `mixup`, `blurpool`, `swa`, ...) added to the
 * base recipe's methods, or an optimizer (`sgd`, `momentum`, `adamw`, ...) replacing the base
 * recipe's, with that optimizer's default hyper-parameters. `label-smoothing+mixup` is both
 * methods; `momentum+label-smoothing` is SGD with momentum and label smoothing.
 */
import { UsageError } from '../errors.js';
import { methodNames, variesBatchSize } from '../methods/registry.js';
import { resolveOptimizer } from '../optim/index.js';
import { parseRecipe, type Recipe } from '../runs/recipe.js';

export const BASELINE = 'baseline';

/** What a part of a recipe name is. */
function kindOf(part: string): 'method' | 'optimizer' | undefined {
  if (methodNames().includes(part)) return 'method';
  try {
    resolveOptimizer(part);
    return 'optimizer';
  } catch {
    return undefined;
  }
}

/** Splits and checks a comma-separated list of recipe names (e.g. `--recipes`). */
export function parseRecipeList(text: string): string[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.includes('')) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--recipes '${text}': expected a comma-separated list such as 'baseline,label-smoothing,mixup'`,
    );
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new UsageError('ANNEAL_BAD_OPTION', `--recipes: '${name}' is listed twice`);
    }
    seen.add(name);
    checkRecipeName(name);
  }
  return names;
}

function checkRecipeName(name: string): void {
  if (name === BASELINE) return;
  const parts = name.split('+');
  for (const part of parts) {
    if (part === BASELINE) {
      throw new UsageError(
        'ANNEAL_UNKNOWN_RECIPE',
        `recipe '${name}': 'baseline' stands alone; write the other parts without it`,
      );
    }
    if (kindOf(part) === 'method' && variesBatchSize(part)) {
      throw new UsageError(
        'ANNEAL_UNKNOWN_RECIPE',
        `recipe '${name}': '${part}' cannot be on a tradeoff curve: it varies the batch size over ` +
          "the whole run, while a curve's budgets are steps of one batch size; compare it with " +
          '`anneal train` runs of equal epochs instead',
      );
    }
    if (!kindOf(part)) {
      throw new UsageError(
        'ANNEAL_UNKNOWN_RECIPE',
        `recipe '${name}': unknown part '${part}': expected 'baseline', a method ` +
          `(${methodNames().join(', ')}) or an optimizer (sgd, momentum, adamw, ...), joined by '+'`,
      );
    }
  }
  if (parts.filter((p) => kindOf(p) === 'optimizer').length > 1) {
    throw new UsageError(
      'ANNEAL_UNKNOWN_RECIPE',
      `recipe '${name}': names more than one optimizer; give at most one`,
    );
  }
}

/** Separate runs (the multi-run baseline) only for recipes that are compared. */
export function checkMultiRun(recipes: readonly string[], multiRun: readonly string[]): void {
  for (const name of multiRun) {
    if (!recipes.includes(name)) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `--multi-run ${name}: not one of the compared recipes (${recipes.join(', ')}); list it in --recipes too`,
      );
    }
  }
}

/** The base recipe with the named recipe's methods added and optimizer replaced. */
export function applyRecipeName(base: Recipe, name: string): Recipe {
  checkRecipeName(name);
  if (name === BASELINE) return base;
  const parts = name.split('+');
  const optimizer = parts.find((p) => kindOf(p) === 'optimizer');
  const methods = parts.filter((p) => kindOf(p) === 'method');
  return parseRecipe(
    {
      ...base,
      description: name,
      optimizer: optimizer ? { name: optimizer } : base.optimizer,
      methods: { ...base.methods, use: [...base.methods.use, ...methods] },
    },
    { source: `recipe '${name}'` },
  );
}
