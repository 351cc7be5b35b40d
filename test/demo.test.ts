/**
 * The README's first command's main job (`npm run demo` = scripts/demo.sh) runs as written on
 * a temporary store ($CAIRN_ROOT) and shows what it says: the image made and listed, a
 * container's output, the diff of one that wrote and deleted files, its commit as one more
 * layer in history, a named volume's data read by a second container, the registry round trip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, tempDir, unmountUnder } from './helpers.js';

test('the demo runs on a fresh store and shows images, containers, diff, commit, a volume and the registry', async () => {
  const dir = await tempDir('cairn-demo-');
  try {
    const r = spawnSync('bash', [join(REPO, 'scripts', 'demo.sh')], { env: { ...process.env, CAIRN_ROOT: join(dir.path, 'root') }, encoding: 'utf8', timeout: 300_000 });
    const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    assert.equal(r.status, 0, r.stderr + out.slice(-2000));
    assert.match(out, /hello from a container on Linux\n/);
    assert.match(out, /\$ cairn diff demo-writer\nC \/bin\nD \/bin\/vi\nA \/greeting\nA \/notes\nA \/notes\/a\n/);
    assert.match(out, /\$ cairn history busybox:greeting\nIMAGE .*COMMENT\n[0-9a-f]{12} .*a greeting, and no vi\n[0-9a-f]{12} .*busybox from Debian busybox-static\n/);
    assert.match(out, /\$ cairn run --rm busybox:greeting [^\n]*\nhi\nls: \/bin\/vi: No such file or directory\n/);
    assert.match(out, /\$ cairn run --rm -v demo-data:\/data busybox:demo cat \/data\/note\nwritten by the first container\n/);
    assert.match(out, /Already exists/);
  } finally {
    unmountUnder(dir.path);
    await dir.cleanup();
  }
});
