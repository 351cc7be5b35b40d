import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes, randomHex, randomInt } from './random.js';

test('randomBytes gives the length asked, and differs from call to call', () => {
  assert.equal(randomBytes(0).length, 0);
  assert.equal(randomBytes(32).length, 32);
  assert.equal(randomBytes(100_000).length, 100_000);
  assert.notDeepEqual(randomBytes(32), randomBytes(32));
});

test('randomHex is 2n lowercase hex digits', () => {
  assert.match(randomHex(32), /^[0-9a-f]{64}$/);
  assert.notEqual(randomHex(8), randomHex(8));
});

test('randomInt stays in [0, max) and reaches every value', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = randomInt(7);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 7, String(v));
    seen.add(v);
  }
  assert.equal(seen.size, 7);
  assert.equal(randomInt(1), 0);
  assert.ok(randomInt(2 ** 32) < 2 ** 32);
  assert.throws(() => randomInt(0), RangeError);
  assert.throws(() => randomInt(1.5), RangeError);
  assert.throws(() => randomInt(2 ** 32 + 1), RangeError);
});
