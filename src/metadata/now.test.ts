import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime } from './now.js';

test('isoTime writes what toISOString writes: now, the epoch, leap days, ends of years and centuries, year 9999', () => {
  const edges = [
    0,
    Date.UTC(1970, 0, 1, 23, 59, 59, 999),
    Date.UTC(1972, 1, 29, 12, 0, 0, 5),
    Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    Date.UTC(2000, 1, 29),
    Date.UTC(2000, 2, 1),
    Date.UTC(2024, 1, 29, 7, 8, 9, 123),
    Date.UTC(2100, 1, 28, 23, 59, 59, 999),
    Date.UTC(2100, 2, 1),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  ];
  for (const ms of edges) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  // a spread over the whole range, each a different millisecond of its day
  for (let i = 0; i < 20_000; i++) {
    const ms = Math.floor((i / 20_000) * Date.UTC(9999, 11, 31)) + ((i * 7919) % 86_400_000);
    assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
  const before = Date.now();
  const now = Date.parse(isoTime());
  assert.ok(now >= before && now <= Date.now(), 'without an argument: now');
});
