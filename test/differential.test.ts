/**
 * The differential suite of issue 14 (point 7), begun: the same commands run through a real
 * dockerd (Debian's docker.io 20.10, test/docker.ts) and through cairn on an empty store, and
 * their stdout, stderr and exit codes compared. Normalisations, explicit and short: the
 * program's name where the CLI names itself ("See 'docker … --help'", `"docker tag" requires`,
 * `Usage:  docker …`), and "Error response from daemon: " where cairn says "Error: ".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cairn, tempDir } from './helpers.js';
import { DOCKER, ensureDockerd, type DockerDaemon } from './docker.js';

let dir: { path: string; cleanup: () => Promise<void> };
let daemon: DockerDaemon;

before(async () => {
  dir = await tempDir('cairn-differential-');
  daemon = await ensureDockerd();
});

after(async () => {
  await daemon?.stop();
  await dir?.cleanup();
});

/** Cases where neither engine has the images named (names no test ever creates). */
const CASES: string[][] = [
  ['rmi', 'cairn-nosuch:1'],
  ['rmi', '-f', 'cairn-nosuch:1'],
  ['rmi', '-f', 'cairn-nosuch:1', 'cairn-nosuch:2'],
  ['inspect', 'cairn-nosuch'],
  ['inspect', 'cairn-nosuch', 'cairn-other'],
  ['inspect', 'UPPER'],
  ['image', 'inspect', 'cairn-nosuch'],
  ['inspect', '--type', 'image', 'cairn-nosuch'],
  ['inspect', '--type', 'container', 'cairn-nosuch'],
  ['inspect', '--type', 'bogus', 'cairn-nosuch'],
  ['images', '-f', 'bogus'],
  // a wrong number of arguments: cobra's words, the usage line and the description, exit 1
  ['tag', 'a', 'b', 'c'],
  ['image', 'tag', 'a'],
  ['rmi'],
  ['history'],
  ['history', 'a', 'b'],
  ['inspect'],
  ['save'],
  ['pull'],
  ['push'],
  ['images', 'a', 'b'],
  ['image', 'ls', 'a', 'b'],
  ['import'],
  ['login', 'a', 'b'],
  ['logout', 'a', 'b'],
  ['load', 'x'],
  // volumes: errors before anything is made, what is not there, the prompt answered No (stdin at its end)
  ['volume', 'inspect', 'cairn-nosuch'],
  ['volume', 'inspect', 'cairn-nosuch', 'cairn-other'],
  ['volume', 'inspect', '-f', '{{.Name}}', 'cairn-nosuch'],
  ['volume', 'rm', 'cairn-nosuch'],
  ['volume', 'rm', '-f', 'cairn-nosuch', 'cairn-other'],
  ['volume', 'create', 'a'],
  ['volume', 'create', 'cairn/bad'],
  ['volume', 'create', '--driver', 'cairn-nosuch', 'cairn-x'],
  ['volume', 'create', '--opt', 'type=tmpfs,device=tmpfs', 'cairn-x'],
  ['volume', 'create', '--opt', 'foo=bar', 'cairn-x'],
  ['volume', 'create', '--label', '=x', 'cairn-x'],
  ['volume', 'create', '--name', 'cairn-x', 'cairn-y'],
  ['volume', 'create', 'a', 'b'],
  ['volume', 'ls', '-q', '-f', 'name=^cairn-nosuch-'],
  ['volume', 'ls', '-f', 'bogus=1'],
  ['volume', 'ls', '-f', 'dangling=maybe'],
  ['volume', 'ls', '-f', 'label'],
  ['volume', 'ls', 'x'],
  ['volume', 'inspect'],
  ['volume', 'rm'],
  ['volume', 'prune'],
  ['volume', 'prune', 'x'],
  ['volume', 'prune', '-f', '--filter', 'name=x'],
  ['volume', 'prune', '--filter', 'label'],
];

for (const args of CASES) {
  test(`docker and cairn agree: ${args.join(' ')}`, async () => {
    const d = spawnSync(DOCKER, args, { encoding: 'utf8', timeout: 60_000 });
    const c = await cairn(join(dir.path, 'store'), args);
    // and the daemon's errors, which cairn (no daemon) prints as its own: "Error: ..."
    const norm = (s: string): string =>
      s.replace(/See 'docker /g, "See 'cairn ").replace(/^"docker /gm, '"cairn ').replace(/^Usage: {2}docker /gm, 'Usage:  cairn ').replace(/^Error response from daemon: /gm, 'Error: ');
    assert.deepEqual({ stdout: c.stdout, stderr: c.stderr, code: c.code }, { stdout: d.stdout, stderr: norm(d.stderr), code: d.status });
  });
}
