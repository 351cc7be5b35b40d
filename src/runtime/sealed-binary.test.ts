/**
 * sealedBinary on a temporary directory (not /run/cairn/bin) with a copy of /bin/true: a
 * read-only bind mount of the binary, made once, runnable, not writable, replaced when the
 * binary changes. As root (mounts); every mount is undone in `after`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { constants as C, umount2 } from '../native/index.js';
import { sealedBinary } from './sealed-binary.js';

let dir: string;
let bin: string;
let sealed: string;

const mountsUnder = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(p));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-sealed-'));
  bin = join(dir, 'tool');
  copyFileSync('/bin/true', bin);
  sealed = join(dir, 'sealed');
});

after(() => {
  for (const line of mountsUnder(dir)) umount2(line.split(' ')[4]!, C.MNT_DETACH);
  rmSync(dir, { recursive: true, force: true });
});

test('the binary is served from a read-only bind mount, made once', () => {
  const path = sealedBinary(bin, sealed);
  assert.notEqual(path, bin);
  assert.ok(path.startsWith(`${sealed}/tool-`) && path.endsWith('/tool'), path);
  const mounts = mountsUnder(sealed);
  assert.equal(mounts.length, 1);
  assert.match(mounts[0]!.split(' ')[5]!, /(^|,)ro(,|$)/, 'mounted read-only');
  assert.equal(statSync(path).ino, statSync(bin).ino, 'the binary itself, not a copy');
  assert.equal(spawnSync(path).status, 0, 'it runs from there');
  assert.throws(() => writeFileSync(path, 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
  assert.equal(sealedBinary(bin, sealed), path, 'the same mount again');
  assert.equal(mountsUnder(sealed).length, 1);
});

test('a changed binary gets a new mount, and the stale one goes', () => {
  const first = sealedBinary(bin, sealed);
  const later = new Date(Date.now() + 60_000);
  utimesSync(bin, later, later);
  const second = sealedBinary(bin, sealed);
  assert.notEqual(second, first);
  assert.equal(mountsUnder(sealed).length, 1);
  assert.equal(existsSync(first), false);
  assert.deepEqual(readdirSync(sealed).filter((n) => n !== '.lock').length, 1);
});

test('a binary that is not there is returned as it is (running it reports it)', () => {
  assert.equal(sealedBinary(join(dir, 'missing'), sealed), join(dir, 'missing'));
});
