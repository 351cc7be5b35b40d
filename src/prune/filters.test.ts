import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { parsePruneFilters } from './filters.js';

const NOW = new Date('2026-12-05T12:00:00Z');
const invalid = (message: string) => (e: unknown) => e instanceof InvalidArgumentError && e.message === message && e.exitCode === 1;

test('each prune takes Docker\'s keys and refuses the others in its words', () => {
  assert.throws(() => parsePruneFilters(['name=x'], 'image', NOW), invalid("Invalid filter 'name'"));
  assert.throws(() => parsePruneFilters(['dangling=true'], 'container', NOW), invalid("Invalid filter 'dangling'"));
  assert.throws(() => parsePruneFilters(['dangling=maybe'], 'image', NOW), invalid("Invalid filter 'dangling=[maybe]'"));
  assert.throws(() => parsePruneFilters(['until=1h', 'until=2h'], 'container', NOW), invalid('more than one until filter specified'));
  assert.throws(() => parsePruneFilters(['until=1h', 'unused-for=2h'], 'build-cache', NOW), invalid('more than one until filter specified'));
  assert.equal(parsePruneFilters([], 'image', NOW).dangling, undefined);
  assert.equal(parsePruneFilters(['dangling=0'], 'image', NOW).dangling, false);
  assert.equal(parsePruneFilters(['dangling=true', 'dangling=false'], 'image', NOW).dangling, false, 'false wins, as ExactMatch finds it first');
  assert.equal(parsePruneFilters(['dangling=1'], 'image', NOW).dangling, true);
});

test('until: images and containers take a duration, an RFC 3339 time or a Unix time; the build cache a duration only', () => {
  assert.equal(parsePruneFilters(['until=90m'], 'image', NOW).until, Date.parse('2026-12-05T10:30:00Z'));
  assert.equal(parsePruneFilters(['until=2026-12-01T00:00:00Z'], 'container', NOW).until, Date.parse('2026-12-01T00:00:00Z'));
  assert.equal(parsePruneFilters(['until=1764547200'], 'image', NOW).until, 1764547200_000);
  assert.throws(() => parsePruneFilters(['until=soon'], 'image', NOW), invalid('failed to parse value as time or duration: "soon"'));
  assert.equal(parsePruneFilters(['until=24h'], 'build-cache', NOW).until, Date.parse('2026-12-04T12:00:00Z'));
  assert.equal(parsePruneFilters(['unused-for=1s'], 'build-cache', NOW).until, NOW.getTime() - 1000);
  assert.throws(() => parsePruneFilters(['until=2026-12-01'], 'build-cache', NOW), invalid('"until" filter expects a duration (e.g., \'24h\'): time: unknown unit "-" in duration "2026-12-01"'));
});

test('label and label! as Docker matches them (label! only excludes when given)', () => {
  const f = parsePruneFilters(['label=a', 'label=b=2', 'label!=c'], 'container', NOW);
  assert.equal(f.matchesLabels({ a: 'x', b: '2' }), true);
  assert.equal(f.matchesLabels({ a: 'x', b: '3' }), false, 'b=2 wanted');
  assert.equal(f.matchesLabels({ a: 'x', b: '2', c: '' }), false, 'c excluded');
  assert.equal(f.matchesLabels(null), false);
  const none = parsePruneFilters([], 'image', NOW);
  assert.equal(none.matchesLabels(null), true);
  const not = parsePruneFilters(['label!=k=v'], 'build-cache', NOW);
  assert.equal(not.matchesLabels(null), true, 'nothing unlabelled is excluded');
  assert.equal(not.matchesLabels({ k: 'v' }), false);
  assert.equal(not.matchesLabels({ k: 'w' }), true);
});
