import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsafeEntryError, safePath } from './pathsafe.js';

const sp = (n: string) => safePath(Buffer.from(n), 'layer', n);

test('the root entry may be written "./", "." or "/" (umoci writes "/")', () => {
  for (const n of ['./', '.', '/', '//']) assert.equal(sp(n).key, '', n);
});

test('other absolute names and .. components are refused', () => {
  for (const n of ['/etc/passwd', '//etc', 'a/../b', '..']) assert.throws(() => sp(n), UnsafeEntryError, n);
  assert.equal(sp('./a//b/').key, 'a/b');
});
