#!/usr/bin/env node
// cairn's command-line entry point. Kept tiny: it loads the compiled CLI and exits with its code.
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2));
// A command may have set process.exitCode for a partial failure (e.g. rmi of several images).
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
