#!/usr/bin/env node
/**
 * The `anneal` command. User errors (bad flags, bad files, unknown names) print one line and
 * exit 2; anything else is a bug and prints its stack.
 */
import { Command, CommanderError, Option } from 'commander';
import { isAnnealError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { dataInfoCommand } from './data.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber } from './parse.js';
import { trainCommand } from './train.js';

const USER_ERROR = 2;

export function buildProgram(): Command {
  const program = new Command('anneal')
    .description('Training-efficiency methods for TensorFlow.js: train, measure, compare.')
    .version(packageVersion())
    .exitOverride()
    .showSuggestionAfterError();

  program
    .command('train')
    .description(
      'train a model on a dataset and write a run directory (log.jsonl, checkpoint.ck, summary.json)',
    )
    .option('--data <name>', 'dataset: mnist, fashion-mnist, cifar10, synthetic', 'mnist')
    .option('--data-dir <dir>', 'directory of the dataset files (fashion-mnist, cifar10)')
    .option('--model <name>', 'model: mlp, cnn, resnet, vit', 'cnn')
    .option('--epochs <n>', 'epochs to train', positiveInt, 1)
    .option('--batch-size <n>', 'samples per batch', positiveInt, 64)
    .option('--lr <x>', 'Adam learning rate', positiveNumber, 1e-3)
    .option('--seed <n>', 'seed for initialisation and shuffling', nonNegativeInt, 0)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .argParser(oneOf(['auto', 'tensorflow', 'wasm', 'cpu'] as const))
        .default('auto'),
    )
    .option('--limit <n>', 'use only the first n training samples', positiveInt)
    .option('--test-limit <n>', 'use only the first n test samples', positiveInt)
    .option('--out <dir>', 'run directory to write', 'runs/train')
    .option('--overwrite', 'replace an existing run directory', false)
    .option('--no-progress', 'no progress bar')
    .action(trainCommand);

  const data = program.command('data').description('inspect datasets');
  data
    .command('info')
    .description('print counts, shape, classes and source of a dataset')
    .option('--data <name>', 'dataset: mnist, fashion-mnist, cifar10, synthetic', 'mnist')
    .option('--data-dir <dir>', 'directory of the dataset files')
    .option('--json', 'print JSON', false)
    .action(dataInfoCommand);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its one-line message (or the help / version).
      return e.exitCode === 0 ? 0 : USER_ERROR;
    }
    if (isAnnealError(e)) {
      console.error(`anneal: ${e.message}`);
      return USER_ERROR;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
