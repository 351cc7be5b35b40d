#!/usr/bin/env node
// cairn's command-line entry point. Kept tiny: it loads the compiled CLI and exits with its code.
// The CLI runs from its bundle (dist/cairn.cjs, made by `npm run build`: one file starts faster
// than ~100 modules), unless the modules were compiled after it (`tsc` alone): then from them.
// The bundle is compiled with V8's code cache, dist/cairn.cjs.cache: written after a run that
// had none or whose cache V8 refused (a new bundle, another Node), it holds the compiled code
// of what that run used, and saves most of compiling it again. V8 compiles a function when it
// first runs, so a cache written by one command lacks what the others run (`run` compiled
// ~10 ms of its own code with a cache written by `images`): the commands a cache has seen are
// listed beside it (dist/cairn.cjs.cache.commands), and a run of a command it has not seen
// writes it again — with everything the old one held and this command's code. This file is CommonJS (see
// bin/package.json): an ES module entry point costs Node ~10 ms more to start.
'use strict';
const { readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
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

/** The commands whose code the cache holds. */
function seenCommands(file) {
  try {
    const list = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(list) ? list : [];
  } catch (e) {
    // none yet, unreadable, or not JSON (a write cut short): as if no command was seen
    if (e.code !== undefined && e.code !== 'ENOENT' && e.code !== 'EACCES' && e.code !== 'EPERM') throw e;
    return [];
  }
}

/** The bundle's exports, compiled with the code cache when there is a usable one; `save` writes a new one when needed. */
function loadBundle() {
  const cacheFile = `${bundle}.cache`;
  const seenFile = `${cacheFile}.commands`;
  const command = commandOf(process.argv.slice(2));
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch (e) {
    // none yet, or one this user may not read (written by another user): compiled without it
    if (e.code !== 'ENOENT' && e.code !== 'EACCES' && e.code !== 'EPERM') throw e;
  }
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, dirname(bundle));
  const save = () => {
    const usable = cachedData !== undefined && !script.cachedDataRejected;
    const seen = usable ? seenCommands(seenFile) : [];
    if (usable && seen.includes(command)) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    const tmpSeen = `${seenFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, script.createCachedData());
      writeFileSync(tmpSeen, JSON.stringify([...seen, command]));
      renameSync(tmp, cacheFile);
      renameSync(tmpSeen, seenFile);
    } catch (e) {
      // an installation this user cannot write to runs without the cache
      if (e.code !== 'EACCES' && e.code !== 'EPERM' && e.code !== 'EROFS') throw e;
      rmSync(tmp, { force: true });
      rmSync(tmpSeen, { force: true });
    }
  };
  return { main: module.exports.main, save };
}

async function run() {
  const { main, save } = bundleIsCurrent() ? loadBundle() : { ...(await import('../dist/src/cli/main.js')), save: () => {} };
  // bin/cairn passes "--" first (Node 20 would take a later "--env-file" as its own): not an argument of cairn's
  const argv = process.argv.slice(2);
  if (argv[0] === '--') argv.shift();
  const code = await main(argv);
  save();
  // A command may have set process.exitCode for a partial failure (e.g. rmi of several images).
  process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
}

run().catch((e) => {
  // main() turns every failure into a message and an exit code; what reaches here is a bug of this file
  process.stderr.write(`cairn: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 125;
});
