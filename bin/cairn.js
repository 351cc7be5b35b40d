#!/usr/bin/env node
// cairn's command-line entry point. Kept tiny: it loads the compiled CLI and exits with its code.
// The CLI runs from its bundle (dist/cairn.mjs, made by `npm run build`: one file starts faster
// than ~100 modules), unless the modules were compiled after it (`tsc` alone): then from them.
import { statSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
function bundleIsCurrent() {
  const bundle = statSync(new URL('cairn.mjs', dist), { throwIfNoEntry: false });
  const modules = statSync(new URL('src/cli/main.js', dist), { throwIfNoEntry: false });
  return bundle !== undefined && (modules === undefined || bundle.mtimeMs >= modules.mtimeMs);
}
const { main } = await import(bundleIsCurrent() ? '../dist/cairn.mjs' : '../dist/src/cli/main.js');

const code = await main(process.argv.slice(2));
// A command may have set process.exitCode for a partial failure (e.g. rmi of several images).
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
