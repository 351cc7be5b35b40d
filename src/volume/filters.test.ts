import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { parseVolumeFilters } from './filters.js';

const V = (name: string, labels: Record<string, string> | null = null, driver = 'local') => ({ name, driver, labels });
const unused = () => false;
const used = () => true;

test('ls filters: name is a regexp anywhere in the name, several names any of them', () => {
  const f = parseVolumeFilters(['name=tmp', 'name=lab'], 'list');
  assert.equal(f.matches(V('tmpv'), unused), true);
  assert.equal(f.matches(V('lab2'), unused), true);
  assert.equal(f.matches(V('other'), unused), false);
  assert.equal(parseVolumeFilters(['name=mpv'], 'list').matches(V('tmpv2'), unused), true);
  assert.equal(parseVolumeFilters(['name=^ref-'], 'list').matches(V('x-ref-1'), unused), false);
  // a pattern that does not compile matches only itself
  assert.equal(parseVolumeFilters(['name=a('], 'list').matches(V('a('), unused), true);
  assert.equal(parseVolumeFilters(['name=a('], 'list').matches(V('a(b'), unused), false);
});

test('ls filters: label KEY and KEY=VALUE, all of them; driver exact', () => {
  const labels = { a: '2', novalue: '' };
  assert.equal(parseVolumeFilters(['label=a'], 'list').matches(V('v', labels), unused), true);
  assert.equal(parseVolumeFilters(['label=a=2'], 'list').matches(V('v', labels), unused), true);
  assert.equal(parseVolumeFilters(['label=a=1'], 'list').matches(V('v', labels), unused), false);
  assert.equal(parseVolumeFilters(['label=novalue='], 'list').matches(V('v', labels), unused), true);
  assert.equal(parseVolumeFilters(['label=a', 'label=b'], 'list').matches(V('v', labels), unused), false);
  assert.equal(parseVolumeFilters(['label=a'], 'list').matches(V('v', null), unused), false);
  assert.equal(parseVolumeFilters(['driver=local'], 'list').matches(V('v'), unused), true);
  assert.equal(parseVolumeFilters(['driver=loc'], 'list').matches(V('v'), unused), false);
});

test('ls filters: dangling is true/1 or false/0, asked of the caller', () => {
  const t = parseVolumeFilters(['dangling=true'], 'list');
  assert.equal(t.needsUse, true);
  assert.equal(t.matches(V('v'), unused), true);
  assert.equal(t.matches(V('v'), used), false);
  assert.equal(parseVolumeFilters(['dangling=1'], 'list').matches(V('v'), used), false);
  assert.equal(parseVolumeFilters(['dangling=0'], 'list').matches(V('v'), used), true);
  assert.equal(parseVolumeFilters(['dangling=false'], 'list').matches(V('v'), unused), false);
  assert.equal(parseVolumeFilters([], 'list').needsUse, false);
  assert.throws(() => parseVolumeFilters(['dangling=maybe'], 'list'), { message: "Invalid filter 'dangling=[maybe]'" });
});

test('which filters each command accepts, in Docker\'s words', () => {
  const invalid = (filters: string[], use: 'list' | 'prune', key: string) =>
    assert.throws(() => parseVolumeFilters(filters, use), (e: unknown) => e instanceof InvalidArgumentError && e.exitCode === 1 && e.message === `Invalid filter '${key}'`);
  invalid(['bogus=1'], 'list', 'bogus');
  invalid(['label!=a'], 'list', 'label!');
  invalid(['dangling=true'], 'prune', 'dangling');
  invalid(['name=x'], 'prune', 'name');
  const p = parseVolumeFilters(['label!=keep'], 'prune');
  assert.equal(p.matches(V('v', { keep: '' }), unused), false);
  assert.equal(p.matches(V('v', { other: '' }), unused), true);
  assert.equal(p.matches(V('v', null), unused), true);
});
