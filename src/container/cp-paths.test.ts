import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerPath, goBase, goClean, goDir, prepareArchiveCopy, preserveTrailingDotOrSeparator, rebaseName, splitPathDirEntry } from './cp-paths.js';

test("Go's path functions as Go has them", () => {
  assert.deepEqual(['', '/', 'a/', '/a/../..', 'a/./b/'].map(goClean), ['.', '/', 'a', '/', 'a/b']);
  assert.deepEqual(['', '/', '/a/b/', 'a'].map(goBase), ['.', '/', 'b', 'a']);
  assert.deepEqual(['/a/b', 'a', '/', '/a/'].map(goDir), ['/a', '.', '/', '/a']);
  assert.deepEqual(splitPathDirEntry('/a/b/.'), { dir: '/a/b', base: '.' });
  assert.deepEqual(splitPathDirEntry('/a/b/'), { dir: '/a', base: 'b' });
  assert.equal(preserveTrailingDotOrSeparator('/a/b', '/a//b/.'), '/a/b/.');
  assert.equal(preserveTrailingDotOrSeparator('/a/b', 'a/b/'), '/a/b/');
});

test("container paths are taken from the root; a '..' above it is refused", () => {
  assert.equal(containerPath('etc/passwd'), '/etc/passwd');
  assert.equal(containerPath('/dir/.'), '/dir/.');
  assert.equal(containerPath('/a/../b/'), '/b/');
  assert.throws(() => containerPath('/..'), /leads out of the container/);
  assert.throws(() => containerPath('a/../../b', 'web'), { message: `path "a/../../b" leads out of web (its '..' climbs above the root directory)` });
});

test("Docker's rebase of a followed link and its PrepareArchiveCopy", () => {
  assert.deepEqual(rebaseName('/dirlink', '/dir'), { resolved: '/dir', rebase: 'dirlink' });
  assert.deepEqual(rebaseName('/dirlink/.', '/dir'), { resolved: '/dir/.', rebase: undefined });
  const file = { path: '/dir/a', exists: true, isDir: false };
  const dir = { path: '/dir', exists: true, isDir: true };
  assert.deepEqual(prepareArchiveCopy(file, 'a', { path: '/h/ed', exists: true, isDir: true }), { dir: '/h/ed' });
  assert.deepEqual(prepareArchiveCopy(file, 'a', { path: '/h/f', exists: true, isDir: false }), { dir: '/h', rename: { from: 'a', to: 'f' } });
  assert.deepEqual(prepareArchiveCopy(dir, 'dir', { path: '/h/new', exists: false, isDir: false }), { dir: '/h', rename: { from: 'dir', to: 'new' } });
  assert.deepEqual(prepareArchiveCopy({ ...dir, rebaseName: 'link' }, 'dir', { path: '/h/ed', exists: true, isDir: true }), { dir: '/h/ed', rename: { from: 'dir', to: 'link' } });
  assert.throws(() => prepareArchiveCopy(dir, 'dir', { path: '/h/f', exists: true, isDir: false }), { message: 'cannot copy directory' });
  assert.throws(() => prepareArchiveCopy(file, 'a', { path: '/h/nope/', exists: false, isDir: false }), { message: 'no such directory' });
});
