#!/usr/bin/env node
// cairn's command-line entry point. Kept tiny: it loads the compiled CLI and exits with its code.
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
