import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeArchive } from '../tar/test-helpers.js';
import { tarFilesSize } from './files-size.js';

test("a layer's files as Docker counts them: files by size, symlinks by their target, nothing else", async () => {
  const tar = await writeArchive([
    [{ name: './', type: 'dir' }],
    [{ name: 'app/', type: 'dir' }],
    [{ name: 'app/hello' }, Buffer.from('hello\n')],
    [{ name: 'app/link', type: 'symlink', linkname: 'hello' }],
    [{ name: 'app/hard', type: 'hardlink', linkname: 'app/hello' }],
    [{ name: 'etc/.wh.passwd' }],
    [{ name: 'etc/.wh..wh..opq' }],
    [{ name: 'dev/null', type: 'char' }],
    [{ name: 'fifo', type: 'fifo' }],
  ]);
  assert.equal(await tarFilesSize(tar), 6 + 5);
});

test('an entry that comes again replaces the earlier one; a directory replaced takes what lay below it', async () => {
  const tar = await writeArchive([
    [{ name: 'a' }, Buffer.alloc(100)],
    [{ name: 'a' }, Buffer.alloc(7)],
    [{ name: 'd/', type: 'dir' }],
    [{ name: 'd/x' }, Buffer.alloc(1000)],
    [{ name: 'd/e/', type: 'dir' }],
    [{ name: 'd/e/y' }, Buffer.alloc(1000)],
    [{ name: 'd', type: 'symlink', linkname: 'a' }],
    [{ name: 'f' }, Buffer.alloc(50)],
    [{ name: 'f/', type: 'dir' }],
    // a whiteout of this layer's own file hides nothing of it
    [{ name: '.wh.a' }],
  ]);
  assert.equal(await tarFilesSize(tar), 7 + 1);
});
