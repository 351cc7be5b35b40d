#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and every module it imports) into one file,
// dist/cairn.cjs, which bin/cairn.js runs. Start-up is most of a short command's time: Node
// resolving, reading and linking ~100 ES modules one by one costs 60-70 ms of every `load`
// and 10-20 ms of every `images`; one file costs a fraction of that. The bundle is CommonJS so
// that bin/cairn.js can compile it with V8's code cache (vm.Script cachedData: Node 20 has no
// code cache for ES modules). The modules stay the source of truth (tests and the library API
// import them); the bundle is only how the CLI starts. better-sqlite3's JavaScript is bundled
// (required by every command that opens the store: loaded from node_modules, its dozen files
// cost ~5 ms of each start, uncached); its addon is named by metadata/db.ts and loaded from
// node_modules, as is zstd-napi, which stays outside (loaded on first use). cairn's own addon
// is found from the bundle's place as from dist/src (`import.meta.url` is the bundle's own URL).
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// Node's built-in modules that cost start-up time and that most commands never use: loading
// https (with tls), http, net, child_process, zlib, crypto, readline and dns costs ~9 ms of every
// start (measured: a script requiring the bundle's builtins starts in 30 ms, one requiring fs,
// path, os and url in 20.5), paid by `run --rm` and `images` as by `pull`. In the bundle each is
// required when one of its exports is first used: the bundle's `require("node:https")` becomes
// `__cairnLazy("node:https")`, an object that loads the module on first access and forwards to it.
// Every access goes through the module's own properties (esbuild compiles `import { request } from
// 'node:https'` to `import_node_https.request` at each use), so nothing else changes. A namespace
// import (`import * as fsp`, `__toESM(require(...), 1)`) gets the same object, whose `default`
// is the module itself as __toESM would make it.
const lazyBuiltins = ['node:https', 'node:http', 'node:net', 'node:child_process', 'node:zlib', 'node:crypto', 'node:readline', 'node:dns/promises', 'node:stream', 'node:stream/promises', 'node:fs/promises', 'node:timers/promises'];
const lazyRequire = `const __cairnLazy = (id) => {
  let m;
  const load = () => (m ??= require(id));
  return new Proxy({}, {
    get: (_, k) => (k === 'default' ? load() : load()[k]),
    has: (_, k) => k in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, k) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), k);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
  });
};`;
const outfile = join(root, 'dist', 'cairn.cjs');
// `import.meta.url` in the bundle: the bundle's own URL. Every use in cairn's code turns it back
// into a path (fileURLToPath) or hands it to createRequire, which takes a path as well: those
// become `__filename` below, so that no start pays for making the URL and parsing it again
// (~0.4 ms). The definition stays only if some other use is left.
const BUNDLE_URL = "const __cairnBundleUrl = require('node:url').pathToFileURL(__filename).href;";

await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // 'bindings': better-sqlite3's way to find its addon when it is not named (never, from cairn)
  external: ['bindings', 'zstd-napi', 'zstd-napi/*'],
  define: { 'import.meta.url': '__cairnBundleUrl' },
  banner: { js: `${BUNDLE_URL}\n${lazyRequire}` },
  sourcemap: false,
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  logLevel: 'warning',
});
{
  let text = readFileSync(outfile, 'latin1');
  for (const id of lazyBuiltins) {
    const req = `require(${JSON.stringify(id)})`.replace(/[()/.]/g, '\\$&');
    // a namespace import (`import * as fsp`): the namespace's properties are the module's
    text = text.replace(new RegExp(`__toESM\\(${req}, ?1\\)`, 'g'), `__cairnLazy(${JSON.stringify(id)})`);
    text = text.replace(new RegExp(`(?<!__toESM\\()${req}`, 'g'), `__cairnLazy(${JSON.stringify(id)})`);
  }
  text = text.replace(/\(0,\s*import_node_url\d*\.fileURLToPath\)\(__cairnBundleUrl\)/g, '__filename');
  text = text.replace(/(\(0,\s*import_node_module\d*\.createRequire\))\(__cairnBundleUrl\)/g, '$1(__filename)');
  if (text.split('__cairnBundleUrl').length === 2) text = text.replace(BUNDLE_URL, '');
  // Written already wrapped as Node wraps a CommonJS module (Module.wrap): bin/cairn.js compiles
  // the file's text as it is, with no copy — joining the wrapper to the source made a string V8
  // copied (1 MB) before it compiled it. Requiring the file gives nothing; bin/cairn.js calls it.
  writeFileSync(outfile, `(function (exports, require, module, __filename, __dirname) { ${text}\n});`, 'latin1');
}
// The cgroup head start (src/runtime/cgroup-prime.ts) on its own, for bin/cairn.js to start
// before it loads the bundle: the wait it hides is ~20 ms here, longer than what a `run --rm`
// does between the bundle's start and crun's attach.
await build({
  entryPoints: [join(root, 'dist', 'src', 'runtime', 'cgroup-prime.js')],
  outfile: join(root, 'dist', 'prime.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifyWhitespace: true,
  charset: 'ascii',
  logLevel: 'warning',
});
// bin/cairn.js reads the bundle as latin1 (no UTF-8 decoding: ~1 ms of each start), which is
// right only for ASCII: esbuild escapes strings, but not what it cannot (a regular expression's
// literal characters), so the build refuses anything else.
{
  const bytes = readFileSync(outfile);
  const at = bytes.findIndex((b) => b > 0x7f);
  if (at !== -1) throw new Error(`${outfile}: a non-ASCII byte at offset ${at} (near ${JSON.stringify(bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8'))}): write it as an escape in the source`);
}
// the code caches of the previous bundle are of no use (V8 would reject them); bin/cairn.js writes new ones
rmSync(join(root, 'dist', 'cache'), { recursive: true, force: true });
rmSync(`${outfile}.cache`, { force: true }); // the one cache of earlier builds
rmSync(`${outfile}.cache.commands`, { force: true });
rmSync(join(root, 'dist', 'cairn.mjs'), { force: true }); // the ES module bundle of earlier builds
