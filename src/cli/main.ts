#!/usr/bin/env node
/**
 * The `anneal` command. User errors (bad flags, bad files, unknown names) print one line and
 * exit 2; anything else is a bug and prints its stack.
 */
import { Command, CommanderError } from 'commander';
import { isAnnealError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { addCurveCommand } from './curve.js';
import { dataInfoCommand } from './data.js';
import { addFlatnessCommand, addLandscapeCommand } from './flatness.js';
import { addListCommand } from './list.js';
import { addLrFindCommand } from './lr-find.js';
import { addPruneCommand } from './prune.js';
import { addReportCommand } from './report.js';
import { addScheduleCommand } from './schedule.js';
import { addSoupCommand } from './soup.js';
import { addSearchCommand } from './search.js';
import { addTrainCommand } from './train.js';
import { addViewCommand } from './view.js';

const USER_ERROR = 2;

export function buildProgram(): Command {
  const program = new Command('anneal')
    .description('Training-efficiency methods for TensorFlow.js: train, measure, compare.')
    .version(packageVersion())
    .exitOverride()
    // commander puts "(Did you mean train?)" on a line of its own: keep user errors to one line.
    .configureOutput({
      outputError: (text, write) => write(text.trimEnd().replace(/\n+/g, ' ') + '\n'),
    })
    .showSuggestionAfterError();

  addTrainCommand(program);
  addLrFindCommand(program);
  addScheduleCommand(program);
  addSoupCommand(program);
  addFlatnessCommand(program);
  addLandscapeCommand(program);
  addSearchCommand(program);
  addCurveCommand(program);
  addPruneCommand(program);
  addReportCommand(program);
  addViewCommand(program);
  addListCommand(program);

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
