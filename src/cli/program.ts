/**
 * The `anneal` command's program: its commands, and `main`, which runs one command line and
 * returns the exit code. User errors (bad flags, bad files, unknown names) print one line and
 * exit 2; anything else is a bug and prints its stack. src/cli/main.ts is the executable.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT_CODES, isAnnealError, RunFailure } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { addCurveCommand } from './curve.js';
import { dataInfoCommand } from './data.js';
import { addExportCommand } from './export.js';
import { addFlatnessCommand, addLandscapeCommand } from './flatness.js';
import { addListCommand } from './list.js';
import { addLrFindCommand } from './lr-find.js';
import { addPruneCommand } from './prune.js';
import { DATA_FLAGS, recipeFlagOption } from './recipe-flags.js';
import { addReportCommand } from './report.js';
import { addScheduleCommand } from './schedule.js';
import { addSoupCommand } from './soup.js';
import { addSearchCommand } from './search.js';
import { addTrainCommand } from './train.js';
import { addViewCommand } from './view.js';
import { addWorkerCommand } from './worker.js';

/** Whether commander printed an error of its own since the program was built. */
interface ProgramState {
  printedError: boolean;
}

export function buildProgram(state: ProgramState = { printedError: false }): Command {
  const program = new Command('anneal')
    .description('Training-efficiency methods for TensorFlow.js: train, measure, compare.')
    .version(packageVersion())
    .exitOverride()
    // commander puts "(Did you mean train?)" on a line of its own: keep user errors to one line.
    .configureOutput({
      outputError: (text, write) => {
        state.printedError = true;
        write(text.trimEnd().replace(/\n+/g, ' ') + '\n');
      },
    })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT_CODES.ok} success, ${EXIT_CODES.usage} bad input (one line on stderr), ` +
        `${EXIT_CODES.diverged} the run diverged (stopped by the NaN guard), ` +
        `${EXIT_CODES.allTrialsFailed} every trial of a search failed, ${EXIT_CODES.bug} a bug (with its stack).`,
    );

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
  addExportCommand(program);
  addWorkerCommand(program);

  const data = program.command('data').description('inspect datasets');
  const info = data
    .command('info')
    .description('print counts, shape, classes, normalisation and source of a dataset')
    .addOption(recipeFlagOption('data').default('mnist'));
  for (const name of DATA_FLAGS.slice(1)) info.addOption(recipeFlagOption(name));
  info
    .addOption(
      new Option('--split <split>', 'which split').choices(['train', 'test']).default('train'),
    )
    .option('--json', 'print JSON', false)
    .action(dataInfoCommand);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const state: ProgramState = { printedError: false };
  try {
    await buildProgram(state).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      // commander prints the errors of its own parsing; one thrown by an action (an option
      // parser called there) is not printed yet.
      if (!state.printedError) console.error(`anneal: ${e.message.replace(/^error: /, '')}`);
      return EXIT_CODES.usage;
    }
    if (isAnnealError(e)) {
      // One line, even for a message written as a list (the kernel loader's reasons and fixes).
      console.error(
        `anneal: ${e.message
          .split('\n')
          .map((l) => l.trim())
          .join(' ')}`,
      );
      return e instanceof RunFailure ? e.exitCode : EXIT_CODES.usage;
    }
    throw e;
  }
}
