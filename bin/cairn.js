#!/usr/bin/env node
// cairn's command-line entry point. Kept tiny: it loads the compiled CLI and exits with its code.
// The CLI runs from its bundle (dist/cairn.cjs, made by `npm run build`: one file starts faster
// than ~100 modules), unless the modules were compiled after it (`tsc` alone): then from them.
// The bundle is compiled with V8's code cache: V8 compiles a function when it first runs, and a
// cache holds the compiled code of what one run used. Each command has its own
// (dist/cache/<command>.bin, `run`, `image-ls`): written after a run of the command that had none
// or whose cache V8 refused (a new bundle, another Node). One cache for all commands either
// lacked what the others run (`run` compiled ~10 ms of its own code with a cache written by
// `images`) or, grown with each, made every command deserialize everyone's code (1.6 MB, ~3 ms
// more than its own). The bundle and its cache are read by cairn's addon when it is built
// (readExternalLatin1/readExternalBytes, native/src/external.c): into memory V8 uses as it is,
// ~2.5 ms less per start than fs.readFileSync's copies; the bundle is written already wrapped as
// a CommonJS module (scripts/bundle.mjs), so its text is compiled as read. This file is CommonJS (see
// bin/package.json): an ES module entry point costs Node ~10 ms more to start.
'use strict';
const { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const dist = join(__dirname, '..', 'dist');
const bundle = join(dist, 'cairn.cjs');

function bundleIsCurrent() {
  const b = statSync(bundle, { throwIfNoEntry: false });
  const modules = statSync(join(dist, 'src', 'cli', 'main.js'), { throwIfNoEntry: false });
  return b !== undefined && (modules === undefined || b.mtimeMs >= modules.mtimeMs);
}

/** The command `argv` runs (`run`, `image ls`): the words past the global options. */
function commandOf(argv) {
  const words = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i];
    if (a === '--root' || a === '--storage-driver' || a === '--storage-opt') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  return ['image', 'container', 'volume', 'registry', 'healthcheck'].includes(words[0]) ? words.join(' ') : (words[0] ?? '');
}

/**
 * cairn's addon, for its external reads, or undefined when it is not built or does not load
 * (then fs reads the files; the library reports the addon's absence where it needs it). The
 * library later gets this same instance: Node keeps one per file.
 */
function addon() {
  try {
    const a = require(join(__dirname, '..', 'build', 'Release', 'cairn_native.node'));
    return typeof a.readExternalLatin1 === 'function' ? a : undefined;
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_DLOPEN_FAILED') return undefined;
    throw e;
  }
}

/** The bundle's exports, compiled with the command's code cache when there is a usable one; `save` writes one when needed. */
function loadBundle() {
  const native = addon();
  const command = commandOf(process.argv.slice(2));
  const cacheDir = join(dist, 'cache');
  const cacheFile = join(cacheDir, `${command === '' ? 'cairn' : command.replace(/[^a-z0-9]+/g, '-')}.bin`);
  let cachedData;
  try {
    cachedData = native ? native.readExternalBytes(cacheFile) : readFileSync(cacheFile);
  } catch (e) {
    // none yet, or one this user may not read (written by another user): compiled without it
    if (e.code !== 'ENOENT' && e.code !== 'EACCES' && e.code !== 'EPERM') throw e;
  }
  // latin1: the bundle is ASCII (the build checks), read without UTF-8 decoding
  const source = native ? native.readExternalLatin1(bundle) : readFileSync(bundle, 'latin1');
  const script = new vm.Script(source, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  // This run writes the cache (save, below): V8 must keep the bytecode of everything it ran until
  // then. By default a garbage collection drops a function's bytecode once it has gone unused
  // through a few of them (--bytecode-old-age), and a long run (a push or pull of a big image)
  // collects often: its cache lacked the bundle's top-level code, which every later run of the
  // command then compiled again (~30 ms of each push after a first long one).
  const writes = cachedData === undefined || script.cachedDataRejected;
  if (writes) require('node:v8').setFlagsFromString('--no-flush-bytecode');
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, dirname(bundle));
  const save = () => {
    if (!writes) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      try {
        mkdirSync(cacheDir);
      } catch (e) {
        if (e.code !== 'EEXIST') throw e;
      }
      // the default again first: V8 stamps a cache with its flags, and refuses it under others
      require('node:v8').setFlagsFromString('--flush-bytecode');
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch (e) {
      // an installation this user cannot write to runs without the cache
      if (e.code !== 'EACCES' && e.code !== 'EPERM' && e.code !== 'EROFS') throw e;
      rmSync(tmp, { force: true });
    }
  };
  return { main: module.exports.main, save, native };
}

/**
 * The commands that start a container's process: crun's cgroup attach waits for an RCU grace
 * period unless one just passed (src/runtime/cgroup-prime.ts), so this process starts one before
 * it even loads the bundle (dist/prime.cjs: that module alone).
 */
const STARTS_CONTAINER = new Set(['run', 'start', 'restart', 'exec', 'container run', 'container start', 'container restart', 'container exec', 'healthcheck run']);

function primeCgroupAttach() {
  if (!STARTS_CONTAINER.has(commandOf(process.argv.slice(2)))) return;
  try {
    require(join(dist, 'prime.cjs')).primeCgroupAttach();
  } catch (e) {
    // a build without it (tsc alone): the library primes when the container starts
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
  }
}

async function run() {
  primeCgroupAttach();
  const { main, save, native } = bundleIsCurrent() ? loadBundle() : { ...(await import('../dist/src/cli/main.js')), save: () => {}, native: undefined };
  // bin/cairn passes "--" first (Node 20 would take a later "--env-file" as its own): not an argument of cairn's
  const argv = process.argv.slice(2);
  if (argv[0] === '--') argv.shift();
  const code = await main(argv);
  save();
  // A command may have set process.exitCode for a partial failure (e.g. rmi of several images).
  process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
  // The command is done. When nothing is left to wait for but the standard streams (their
  // writes done: one still queued on a full pipe shows as a WriteWrap), exit now: Node's own teardown
  // (freeing the heap, joining its threads) costs ~3 ms of every command, which `run --rm`
  // pays on each start. Anything else still pending (a timer, a socket, a file operation, a
  // write to a full pipe: a WriteWrap) is left to end as it would. With the addon, and nothing
  // listening for 'exit', the process ends with _exit: process.exit() still stops and joins
  // Node's threads and runs its exit handlers (~1 ms). The store's database connection ends
  // with the process (StoreOptions.endsWithProcess): what was committed is in its log.
  // What a command leaves is often gone in the event loop's next turn: a file operation done
  // but not yet reaped (FSReqPromise), a kept-alive connection whose last answer's end is still
  // to be read (a pull's or a push's): that turn is waited for once, or the process would go
  // through Node's teardown, and the store's connection would be closed and checkpointed (~7 ms).
  const onlyStdio = () => process.getActiveResourcesInfo().every((r) => r === 'TTYWrap' || r === 'PipeWrap');
  if (!onlyStdio()) await new Promise((resolve) => setImmediate(resolve));
  if (onlyStdio()) {
    const code = process.exitCode;
    if (native !== undefined && process.listenerCount('exit') === 0 && Number.isInteger(code) && code >= 0 && code <= 255) native.exitNow(code);
    process.exit();
  }
}

run().catch((e) => {
  // main() turns every failure into a message and an exit code; what reaches here is a bug of this file
  process.stderr.write(`cairn: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 125;
});
