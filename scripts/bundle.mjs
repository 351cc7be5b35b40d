#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and every module it imports) into one file,
// dist/cairn.cjs, which bin/cairn.js runs. Start-up is most of a short command's time: Node
// resolving, reading and linking ~100 ES modules one by one costs 60-70 ms of every `load`
// and 10-20 ms of every `images`; one file costs a fraction of that. The bundle is CommonJS so
// that bin/cairn.js can compile it with V8's code cache (vm.Script cachedData: Node 20 has no
// code cache for ES modules). The modules stay the source of truth (tests and the library API
// import them); the bundle is only how the CLI starts. Native packages (better-sqlite3,
// zstd-napi) stay outside it, loaded from node_modules as before; the addon is found from the
// bundle's place as from dist/src (`import.meta.url` is the bundle's own URL).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outfile = join(root, 'dist', 'cairn.cjs');

await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['better-sqlite3', 'zstd-napi', 'zstd-napi/*'],
  define: { 'import.meta.url': '__cairnBundleUrl' },
  banner: { js: "const __cairnBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: false,
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
// the code cache of the previous bundle is of no use (V8 would reject it); bin/cairn.js writes a new one
rmSync(`${outfile}.cache`, { force: true });
rmSync(`${outfile}.cache.commands`, { force: true });
rmSync(join(root, 'dist', 'cairn.mjs'), { force: true }); // the ES module bundle of earlier builds
