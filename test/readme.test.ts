/**
 * The README's library example runs as written: the ```js block under "## Library", imported
 * by package name (`cairn`, resolved through package.json's exports), against a temporary
 * store and a root filesystem tar made here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, makeTar, tempDir } from './helpers.js';

test('the README library example runs and prints what it says', async () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'the README has a js example under ## Library');
  const dir = await tempDir('cairn-readme-');
  // Inside the package, so that `import ... from 'cairn'` resolves by self-reference.
  const script = join(REPO, 'dist', `readme-example-${process.pid}.mjs`);
  try {
    const tar = join(dir.path, 'rootfs.tar');
    writeFileSync(tar, await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/hostname', content: 'example\n' }]));
    writeFileSync(script, m[1]!);
    const r = spawnSync(process.execPath, [script], { env: { ...process.env, EXAMPLE_ROOT: join(dir.path, 'root'), ROOTFS_TAR: tar }, encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^imported sha256:[a-f0-9]{64}$/);
    assert.match(lines[1]!, /^example:1 \d+ bytes$/);
    assert.equal(lines[2], 'from the README, 1 layer');
  } finally {
    rmSync(script, { force: true });
    await dir.cleanup();
  }
});
