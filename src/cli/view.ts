/**
 * `anneal view <runs-dir> --port 6006`: a local, read-only web page of every run and search under
 * a folder, redrawn as their logs grow and as a search's jobs finish. Binds 127.0.0.1 unless
 * --host is given.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { isDirectory, startViewer } from '../report/server.js';
import { oneOf, port } from './parse.js';

interface ViewOptions {
  port: number;
  host?: string | true;
  x: 'step' | 'time';
}

/** Adds `anneal view` to the program. */
export function addViewCommand(program: Command): Command {
  return program
    .command('view')
    .description(
      'serve a live, read-only page of the runs and searches under a folder (loopback only by default)',
    )
    .argument('<runs-dir>', 'the folder of run and search directories (e.g. runs)')
    .option('--port <n>', 'port to listen on (0 picks a free one)', port, 6006)
    .option(
      '--host [address]',
      'listen on this address instead of 127.0.0.1; without an address, on every interface (0.0.0.0)',
    )
    .option(
      '--x <axis>',
      'x axis of the training curves: step or time',
      oneOf(['step', 'time']),
      'step',
    )
    .action(viewCommand);
}

async function viewCommand(runsDir: string, opts: ViewOptions): Promise<void> {
  if (!isDirectory(runsDir)) {
    throw new UsageError(
      'ANNEAL_VIEW_NO_DIR',
      `${runsDir} is not a directory; pass the folder your runs are written to (e.g. runs)`,
    );
  }
  const host = opts.host === true ? '0.0.0.0' : (opts.host ?? '127.0.0.1');
  let viewer;
  try {
    viewer = await startViewer({
      runsDir,
      port: opts.port,
      host,
      x: opts.x === 'time' ? 'seconds' : 'step',
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTFOUND / EAI_AGAIN: --host names no address of this machine.
    if (['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(code ?? '')) {
      throw new UsageError(
        'ANNEAL_VIEW_LISTEN',
        `cannot listen on ${host}:${opts.port} (${code}); pass another --port (0 picks a free one) or --host`,
      );
    }
    throw e;
  }
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    console.error(
      `anneal view: listening on ${host}: other machines on the network can read these runs`,
    );
  }
  console.log(`anneal view: ${viewer.url} (runs in ${runsDir}; read-only; Ctrl-C to stop)`);
}
