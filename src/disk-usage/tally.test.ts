import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldKeys, tally } from './tally.js';

const BYTES: Record<string, number> = { base: 1000, a: 30, b: 500, c: 7, lone: 64 };
const bytes = (k: string): number => BYTES[k] ?? 0;

test('tally: a key several holders hold counts once in the size, and as shared in each of theirs', () => {
  const t = tally(
    [
      { objects: ['base', 'a'], active: false },
      { objects: ['base', 'b', 'b'], active: false },
      { objects: ['lone'], active: false },
    ],
    bytes,
  );
  assert.equal(t.size, BYTES.base! + BYTES.a! + BYTES.b! + BYTES.lone!);
  assert.deepEqual(t.each, [
    { size: BYTES.base! + BYTES.a!, shared: BYTES.base! },
    { size: BYTES.base! + BYTES.b!, shared: BYTES.base! },
    { size: BYTES.lone!, shared: 0 },
  ]);
  assert.ok(t.size < t.each.reduce((n, e) => n + e.size, 0), 'shared bytes are counted once');
  assert.equal(t.reclaimable, t.size, 'nothing is active: all of it can go');
});

test('tally: what an active holder holds is not reclaimable, even where an inactive one holds it too', () => {
  const t = tally(
    [
      { objects: ['base', 'a'], active: true },
      { objects: ['base', 'b'], active: false },
    ],
    bytes,
  );
  assert.equal(t.reclaimable, BYTES.b!);
});

test('tally: excluded keys (counted elsewhere) count for nothing; keys not on disk count 0', () => {
  const images = [{ objects: ['base', 'a'], active: false }];
  const t = tally([{ objects: ['base', 'c', 'missing'], active: false }], bytes, heldKeys(images));
  assert.equal(t.size, BYTES.c);
  assert.deepEqual(t.each, [{ size: BYTES.c, shared: 0 }]);
  assert.deepEqual([...heldKeys(images)].sort(), ['a', 'base']);
});
