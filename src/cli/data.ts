/** `anneal data info`: what a dataset holds and where it was read from. */
import { datasetInfo, type Split } from '../data/index.js';
import { parseRecipe, recipeDataOptions } from '../runs/recipe.js';
import { flagFields, flagForPath, type RecipeFlagValues } from './recipe-flags.js';

export async function dataInfoCommand(
  opts: RecipeFlagValues & { split: Split; json: boolean },
): Promise<void> {
  // The data flags are checked as a recipe's data section, so they fail as they do for train.
  let doc: Record<string, unknown> = {};
  for (const [path, value] of flagFields(opts)) {
    if (path[0] === 'data') doc = { ...doc, [path[1]]: value };
  }
  const recipe = parseRecipe(
    { data: doc },
    { source: 'options', label: (path) => flagForPath(path, opts) ?? path },
  );
  const info = await datasetInfo(recipe.data.name, {
    ...recipeDataOptions(recipe),
    split: opts.split,
  });
  if (opts.json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  for (const [key, value] of Object.entries(info)) {
    console.log(`${key.padEnd(17)} ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  }
}
