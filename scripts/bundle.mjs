#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and every module it imports) into one file,
// dist/cairn.mjs, which bin/cairn.js runs. Start-up is most of a short command's time: Node
// resolving, reading and linking ~100 ES modules one by one costs 60-70 ms of every `load`
// and 10-20 ms of every `images`; one file costs a fraction of that. The modules stay the
// source of truth (tests and the library API import them); the bundle is only how the CLI
// starts. Native packages (better-sqlite3, zstd-napi) stay outside it, loaded from
// node_modules as before; the addon is found from the bundle's place as from dist/src.
import { build } from 'esbuild';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: join(root, 'dist', 'cairn.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'zstd-napi', 'zstd-napi/*'],
  // CommonJS dependencies bundled into an ES module (commander) call require() for builtins.
  banner: { js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);" },
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
