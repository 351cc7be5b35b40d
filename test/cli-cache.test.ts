/**
 * bin/cairn.js and the bundle's code caches, one per command (dist/cache/<command>.bin): written
 * by the command's first run, kept while V8 accepts it, replaced when V8 refuses it, and never a failure where the
 * installation cannot be written. Each test works on a copy of bin/ and the bundle in a
 * temporary directory (node_modules, the addon's build and package.json linked), so the
 * repository's own cache, which other tests use meanwhile, is never touched. Run as root (a
 * read-only bind mount).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

test('the first run of a command writes its code cache, later runs keep it, a refused one is replaced; each command has its own', async () => {
  const d = await tempDir();
  try {
    const root = install(d.path);
    const cacheDir = join(root, 'dist', 'cache');
    const cache = join(cacheDir, 'cairn.bin');
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
    // Another command writes its own cache, with its code; the first command's is left as it was.
    const before = readFileSync(cache);
    const versionCommand = (): void => {
      const r = spawnSync(process.execPath, [join(root, 'bin', 'cairn.js'), 'version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${first.stdout.match(/\d+\.\d+\.\d+\S*/)![0]}\n`);
    };
    versionCommand();
    const own = readFileSync(join(cacheDir, 'version.bin'));
    assert.ok(own.length > before.length, `'version' compiled more than '--version' (${before.length} → ${own.length} bytes)`);
    assert.deepEqual(readFileSync(cache), before);
    versionCommand();
    assert.deepEqual(readFileSync(join(cacheDir, 'version.bin')), own, 'a command with a cache writes nothing');
    assert.deepEqual(readdirSync(cacheDir).sort(), ['cairn.bin', 'version.bin'], 'no temporary file is left');
    // a command of two words has one cache
    const r = spawnSync(process.execPath, [join(root, 'bin', 'cairn.js'), '--root', join(d.path, 'store'), 'image', 'ls', '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(cacheDir, 'image-ls.bin')));
  } finally {
    await d.cleanup();
  }
});

test("a cache written after garbage collections still holds the bundle's top-level code", async () => {
  const d = await tempDir();
  try {
    const root = install(d.path);
    const cache = join(root, 'dist', 'cache', 'image-ls.bin');
    const imageLs = (v8Flags: string[]): number => {
      rmSync(join(root, 'dist', 'cache'), { recursive: true, force: true });
      const r = spawnSync(process.execPath, [...v8Flags, join(root, 'bin', 'cairn.js'), '--root', join(d.path, 'store'), 'image', 'ls', '-q'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(cache).length;
    };
    const plain = imageLs([]);
    // Every collection a full one that drops the bytecode of each function not running (what a
    // long pull or push does to code that ran only at its start): the run that writes the cache
    // must keep it, or the cache lacks the bundle's top-level code and every later run compiles it.
    const collected = imageLs(['--gc-global', '--stress-flush-code']);
    assert.ok(collected > plain * 0.95, `a cache of ${collected} bytes after collections, ${plain} without`);
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
    assert.equal(existsSync(join(distDir, 'cache')), false);
  } finally {
    assert.equal(spawnSync('umount', [distDir]).status, 0);
    await d.cleanup();
  }
});

test('a cache this user may not read is passed over', async () => {
  const d = await tempDir();
  try {
    const root = install(d.path);
    const cache = join(root, 'dist', 'cache', 'cairn.bin');
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
