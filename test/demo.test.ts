/**
 * The README's first command's main job (`npm run demo` = scripts/demo.sh) runs as written on
 * a temporary store ($CAIRN_ROOT) and shows what it says: the image made and listed, a
 * container's output, the diff of one that wrote and deleted files, its commit as one more
 * layer in history, a named volume's data read by a second container, the registry round trip,
 * and the example application built from examples/app, run, its history, and built again from
 * the cache.
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
    // The example application: built, run, its history one layer per file-system instruction, then all cached.
    assert.match(out, /\$ cairn run --rm example\/app:1\nHello from an image cairn built \(built from 2 source files\)\n/);
    const history = /\$ cairn history example\/app:1\n([^$]*)\n\n/.exec(out)![1]!.split('\n').slice(1);
    assert.deepEqual(
      history.map((l) => / (CMD|ENV|COPY|LABEL|RUN|WORKDIR)\b/.exec(l)?.[1] ?? 'base'),
      ['CMD', 'ENV', 'COPY', 'COPY', 'LABEL', 'base'],
    );
    const [first, second] = out.split('$ cairn build -t example/app:1 examples/app').slice(1);
    assert.ok(first !== undefined && second !== undefined, 'built twice');
    assert.equal((first.split('$ cairn')[0]!.match(/#\d+ CACHED/g) ?? []).length, 2, 'the first time only the FROMs are CACHED');
    const stepLines = (text: string) => text.split('\n').filter((l) => /^#\d+ \[(build|stage-1) \d\/\d\] (?!FROM)/.test(l)).length;
    assert.equal(stepLines(second), 5, 'five steps');
    assert.equal((second.split('$ cairn')[0]!.match(/#\d+ CACHED/g) ?? []).length, 7, 'every step (and both FROMs) CACHED the second time');
  } finally {
    unmountUnder(dir.path);
    await dir.cleanup();
  }
});
