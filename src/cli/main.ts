#!/usr/bin/env node
/** The `anneal` executable: runs the command line and exits with main's code (src/cli/program.ts). */
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
