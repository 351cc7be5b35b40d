import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, sortedRecord } from './json.js';

test('compact, insertion-ordered, Go-escaped', () => {
  const doc = { schemaVersion: 2, mediaType: 'a/b', config: { size: 7, digest: 'sha256:x' }, layers: [], skip: undefined, n: null };
  assert.equal(canonicalJson(doc).toString(), '{"schemaVersion":2,"mediaType":"a/b","config":{"size":7,"digest":"sha256:x"},"layers":[],"n":null}');
  // Go's json.Marshal: HTML-safe escaping of < > &, and U+2028/U+2029
  assert.equal(canonicalJson({ created_by: '/bin/sh -c a && b > c <d>' }).toString(), '{"created_by":"/bin/sh -c a \\u0026\\u0026 b \\u003e c \\u003cd\\u003e"}');
  assert.equal(canonicalJson('\u2028\u2029').toString(), '"\\u2028\\u2029"');
  assert.equal(canonicalJson('tab\there\nnl "q" \\ \u0001').toString(), '"tab\\there\\nnl \\"q\\" \\\\ \\u0001"');
  // non-ASCII stays as UTF-8; lone surrogates become U+FFFD
  assert.deepEqual(canonicalJson('é\ud800'), Buffer.from('"é\ufffd"', 'utf8'));
  assert.equal(canonicalJson(true).toString(), 'true');
});

test('Maps are written with keys sorted by UTF-8 bytes, like Go maps', () => {
  const labels = new Map([['b', '2'], ['a', '1'], ['10', 'x'], ['2', 'y'], ['\uff01', 'z'], ['\u{1f600}', 'w']]);
  // UTF-16 order would put U+1F600 (D83D …) before U+FF01; UTF-8 bytes put it after (F0 vs EF).
  assert.equal(canonicalJson({ Labels: labels }).toString(), '{"Labels":{"10":"x","2":"y","a":"1","b":"2","\uff01":"z","\u{1f600}":"w"}}');
  assert.deepEqual(Object.keys(sortedRecord({ b: 1, a: 2, c: 3 })), ['a', 'b', 'c']);
});

test('bytes as base64; unencodable values refused', () => {
  assert.equal(canonicalJson({ data: Buffer.from('{}') }).toString(), '{"data":"e30="}');
  assert.throws(() => canonicalJson({ a: NaN }), /a: NaN has no JSON form/);
  assert.throws(() => canonicalJson({ a: [1, undefined] }), /a\[1\]: undefined in an array/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /cannot encode a function/);
  assert.throws(() => canonicalJson({ b: 1n }), /cannot encode a bigint/);
});

test('output parses back to the same value', () => {
  const v = { a: [1, 'two', { three: [true, false, null] }], 'k<>': 'v&' };
  assert.deepEqual(JSON.parse(canonicalJson(v).toString()), v);
});
