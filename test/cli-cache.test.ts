/**
 * bin/cairn.js and the bundle's code cache (dist/cairn.cjs.cache): written by the first run,
 * kept while V8 accepts it, replaced when V8 refuses it, and never a failure where the
 * installation cannot be written. Each test works on a copy of bin/ and the bundle in a
 * temporary directory (node_modules, the addon's build and package.json linked), so the
 * repository's own cache, which other tests use meanwhile, is never touched. Run as root (a
 * read-only bind mount).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from './helpers.js';

/** A copy of the CLI's entry point and bundle; returns its root. */
function install(root: string): string {
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist'));
  for (const f of ['cairn.js', 'package.json']) copyFileSync(join(REPO, 'bin', f), join(root, 'bin', f));
  copyFileSync(join(REPO, 'dist', 'cairn.cjs'), join(root, 'dist', 'cairn.cjs'));
  for (const f of ['node_modules', 'build', 'package.json', 'binding.gyp']) symlinkSync(join(REPO, f), join(root, f));
  return root;
}

function version(root: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'cairn.js'), '--version'], { encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const expected = (): string => spawnSync(process.execPath, [join(REPO, 'bin', 'cairn.js'), '--version'], { encoding: 'utf8' }).stdout;

test('the first run writes the code cache, later runs keep it, a refused one is replaced', async () => {
  const d = await tempDir();
  try {
    const root = install(d.path);
    const cache = join(root, 'dist', 'cairn.cjs.cache');
    assert.equal(existsSync(cache), false);
    const first = version(root);
    assert.deepEqual(first, { stdout: expected(), stderr: '', status: 0 });
    const written = readFileSync(cache);
    assert.ok(written.length > 1000, 'a cache of the compiled bundle');
    assert.deepEqual(version(root), first);
    assert.deepEqual(readFileSync(cache), written, 'an accepted cache is not written again');
    // garbage (or a cache of another bundle or Node): refused by V8, the bundle compiles as usual
    writeFileSync(cache, Buffer.alloc(4096, 7));
    assert.deepEqual(version(root), first);
    assert.notDeepEqual(readFileSync(cache), Buffer.alloc(4096, 7), 'the refused cache is replaced');
    assert.deepEqual(
      readdirSync(join(root, 'dist')).sort(),
      ['cairn.cjs', 'cairn.cjs.cache', 'cairn.cjs.cache.commands'],
      'no temporary file is left',
    );
    // A command the cache has not seen writes it again, with that command's code added; then it is kept.
    const before = readFileSync(cache);
    const help = spawnSync(process.execPath, [join(root, 'bin', 'cairn.js'), 'version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    const grown = readFileSync(cache);
    assert.ok(grown.length > before.length, `the cache grew with the code of 'version' (${before.length} → ${grown.length} bytes)`);
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'dist', 'cairn.cjs.cache.commands'), 'utf8')), ['', 'version']);
    spawnSync(process.execPath, [join(root, 'bin', 'cairn.js'), 'version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' });
    assert.deepEqual(readFileSync(cache), grown, 'a command seen before writes nothing');
  } finally {
    await d.cleanup();
  }
});

test('an installation that cannot be written runs without a cache, silently', async () => {
  const d = await tempDir();
  const root = install(d.path);
  const distDir = join(root, 'dist');
  const mount = spawnSync('mount', ['--bind', distDir, distDir]);
  assert.equal(mount.status, 0, mount.stderr?.toString());
  try {
    assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', distDir]).status, 0);
    assert.deepEqual(version(root), { stdout: expected(), stderr: '', status: 0 });
    assert.equal(existsSync(join(distDir, 'cairn.cjs.cache')), false);
  } finally {
    assert.equal(spawnSync('umount', [distDir]).status, 0);
    await d.cleanup();
  }
});

test('a cache this user may not read is passed over', async () => {
  const d = await tempDir();
  try {
    const root = install(d.path);
    const cache = join(root, 'dist', 'cairn.cjs.cache');
    assert.equal(version(root).status, 0);
    chmodSync(cache, 0o600);
    chmodSync(root, 0o755);
    // another user (nobody) runs the same installation: the cache is root's and unreadable
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(root, 'bin', 'cairn.js'), '--version'], { encoding: 'utf8' });
    assert.deepEqual({ stdout: r.stdout, stderr: r.stderr, status: r.status }, { stdout: expected(), stderr: '', status: 0 });
  } finally {
    await d.cleanup();
  }
});
