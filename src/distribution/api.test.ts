import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, parseContentRange, parseRange, parseRoute } from './api.js';

const D = `sha256:${'a'.repeat(64)}`;

test('routes are read from the end of the path: names with slashes, tags, digests, uploads', () => {
  assert.deepEqual(parseRoute('/v2/'), { kind: 'base' });
  assert.deepEqual(parseRoute('/v2/_catalog'), { kind: 'catalog' });
  assert.deepEqual(parseRoute('/v2/a/b/c/tags/list'), { kind: 'tags', name: 'a/b/c' });
  assert.deepEqual(parseRoute('/v2/a/b/manifests/v1.0'), { kind: 'manifest', name: 'a/b', reference: { tag: 'v1.0' } });
  assert.deepEqual(parseRoute(`/v2/a/manifests/${D}`), { kind: 'manifest', name: 'a', reference: { digest: D } });
  assert.deepEqual(parseRoute(`/v2/a/blobs/${D}`), { kind: 'blob', name: 'a', digest: D });
  assert.deepEqual(parseRoute('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(parseRoute('/v2/a/blobs/uploads'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(parseRoute('/v2/a/blobs/uploads/0123abcd'), { kind: 'upload', name: 'a', id: '0123abcd' });
  assert.deepEqual(parseRoute(`/v2/a/referrers/${D}`), { kind: 'referrers', name: 'a', digest: D });
  // a repository named like an endpoint word is still a name
  assert.deepEqual(parseRoute('/v2/blobs/manifests/latest'), { kind: 'manifest', name: 'blobs', reference: { tag: 'latest' } });
  assert.equal(parseRoute('/v1/a/manifests/1'), undefined);
  assert.equal(parseRoute('/v2/a/nothing'), undefined);
});

test("what does not parse is the spec's error: names with '..', upper case or empty components; bad digests and tags", () => {
  const code = (path: string): string => {
    try {
      parseRoute(path);
    } catch (e) {
      if (e instanceof ApiError) return `${e.code} ${e.status}`;
      throw e;
    }
    return 'none';
  };
  assert.equal(code('/v2/a/../b/manifests/1'), 'NAME_INVALID 400');
  assert.equal(code('/v2/../../etc/manifests/1'), 'NAME_INVALID 400');
  assert.equal(code('/v2//a/manifests/1'), 'NAME_INVALID 400');
  assert.equal(code('/v2/A/manifests/1'), 'NAME_INVALID 400');
  assert.equal(code(`/v2/${'a'.repeat(256)}/manifests/1`), 'NAME_INVALID 400');
  assert.equal(code('/v2/a/blobs/sha256:xyz'), 'DIGEST_INVALID 400');
  // a tag outside the grammar is a route (a read finds nothing: 404; a PUT is refused: TAG_INVALID)
  assert.deepEqual(parseRoute('/v2/a/manifests/.INVALID'), { kind: 'manifest', name: 'a', reference: { tag: '.INVALID' } });
  assert.equal(code('/v2/a/blobs/uploads/..%2F..'), 'BLOB_UPLOAD_UNKNOWN 404');
  assert.deepEqual(JSON.parse(new ApiError('BLOB_UNKNOWN', D).body().toString()), { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: D }] });
});

test('Range and Content-Range as the API uses them', () => {
  assert.equal(parseRange(undefined, 10), undefined);
  assert.deepEqual(parseRange('bytes=2-4', 10), { start: 2, end: 4 });
  assert.deepEqual(parseRange('bytes=7-', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
  for (const bad of ['bytes=10-', 'bytes=4-2', 'items=0-1', 'bytes=-5']) assert.throws(() => parseRange(bad, 10), (e: unknown) => e instanceof ApiError && e.status === 416, bad);
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199'), { start: 100, end: 199 });
  assert.throws(() => parseContentRange('9-1'), ApiError);
  assert.throws(() => parseContentRange('abc'), ApiError);
});
