/**
 * `ps` selection as Docker 20.10's daemon does it (daemon/list.go), on made-up containers:
 * which filter names and values are refused and in what words, and which containers each
 * filter, `-a` and `-n` keep (compared with what dockerd listed for the same setup).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectContainers, type PsFilterFacts, type PsFilterLookups, type PsQuery } from './ps-filter.js';

const hex = (c: string): string => c.repeat(64);

function facts(name: string, over: Partial<PsFilterFacts>): PsFilterFacts {
  return { id: hex('0'), name, labels: {}, state: 'running', running: true, started: true, exitCode: 0, health: 'none', imageId: 'sha256:img', networks: ['none'], mounts: [], ...over };
}

// newest first, as ps lists them
const ALL: PsFilterFacts[] = [
  facts('web', { id: `ab${hex('1').slice(2)}`, labels: { tier: 'front', env: 'prod' }, health: 'healthy', mounts: [{ name: 'data', source: '', destination: '/data' }] }),
  facts('job', { id: `ac${hex('2').slice(2)}`, state: 'exited', running: false, exitCode: 3, imageId: 'sha256:child' }),
  facts('new', { id: hex('3'), state: 'created', running: false, started: false }),
  facts('paused', { id: hex('4'), state: 'paused', labels: { tier: 'back' }, networks: ['host'], mounts: [{ source: '/srv', destination: '/mnt' }] }),
];

const lookups: PsFilterLookups = {
  containerByIdOrName: (ref) => ALL.find((c) => c.id === ref || c.name === ref.replace(/^\//, ''))?.id,
  imageFamily: (ref) => (ref === 'base' ? ['sha256:img', 'sha256:child'] : ref === 'child' ? ['sha256:child'] : undefined),
};

function names(filters: Record<string, string[]>, opts: Partial<PsQuery> = {}): string[] {
  return selectContainers(ALL, { all: true, limit: 0, filters: new Map(Object.entries(filters)), ...opts }, lookups).map((c) => c.name);
}

function refused(filters: Record<string, string[]>, message: string): void {
  assert.throws(() => names(filters), { message });
}

describe('ps filters', () => {
  it('lists running (and paused) containers without -a, -n or a status filter', () => {
    assert.deepEqual(names({}, { all: false }), ['web', 'paused']);
    assert.deepEqual(names({}, { all: false, limit: 2 }), ['web', 'job']);
    assert.deepEqual(names({ status: ['exited'] }, { all: false }), ['job']);
    // exited= alone does not show stopped containers (Docker lists none here)
    assert.deepEqual(names({ exited: ['3'] }, { all: false }), []);
  });

  it('refuses what Docker refuses, in its words and order', () => {
    refused({ bogus: ['1'] }, "Invalid filter 'bogus'");
    refused({ exited: ['x'] }, 'strconv.Atoi: parsing "x": invalid syntax');
    refused({ exited: [''] }, 'strconv.Atoi: parsing "": invalid syntax');
    refused({ status: ['bogus'] }, "Invalid filter 'status=bogus'");
    refused({ status: [''] }, "Invalid filter 'status='");
    refused({ 'is-task': ['x'] }, "Invalid filter 'is-task=[x]'");
    refused({ health: ['sick'] }, 'Unrecognised filter value for health: sick');
    refused({ before: ['nosuch'] }, 'no such container nosuch');
    refused({ since: ['ab'] }, 'no such container ab'); // an ID prefix is not enough
    refused({ publish: ['80:90'] }, "filter for 'publish' should not contain ':': 80:90");
    refused({ expose: ['x/tcp'] }, 'error while looking up for expose x/tcp: strconv.ParseUint: parsing "x": invalid syntax');
    refused({ expose: ['90-80'] }, 'error while looking up for expose 90-80: invalid range specified for port: 90-80');
    // the exit code is checked before the status
    refused({ status: ['bogus'], exited: ['x'] }, 'strconv.Atoi: parsing "x": invalid syntax');
  });

  it('id: a unique prefix; name: equal or a regular expression, with or without the slash', () => {
    assert.deepEqual(names({ id: ['ab'] }), ['web']);
    assert.deepEqual(names({ id: ['a'] }), []); // ambiguous
    assert.deepEqual(names({ id: [''] }), []);
    assert.deepEqual(names({ id: ['ab', 'ac'] }), ['web', 'job']);
    assert.deepEqual(names({ name: ['e'] }), ['web', 'new', 'paused']);
    assert.deepEqual(names({ name: ['^/j'] }), ['job']);
    assert.deepEqual(names({ name: ['^job$'] }), ['job']);
    assert.deepEqual(names({ name: ['['] }), []);
    assert.deepEqual(names({ name: ['web', 'job'] }), ['web', 'job']);
    assert.deepEqual(names({ id: ['ab'], name: ['job'] }), []);
  });

  it('label: every value must match; the others: any value', () => {
    assert.deepEqual(names({ label: ['tier'] }), ['web', 'paused']);
    assert.deepEqual(names({ label: ['tier=back'] }), ['paused']);
    assert.deepEqual(names({ label: ['tier', 'env=prod'] }), ['web']);
    assert.deepEqual(names({ label: ['tier=back', 'env=prod'] }), []);
    assert.deepEqual(names({ status: ['exited', 'created'] }), ['job', 'new']);
    assert.deepEqual(names({ status: ['running'] }), ['web']);
    assert.deepEqual(names({ exited: ['0', '3'] }), ['job']); // a never-started container has no exit code
    assert.deepEqual(names({ health: ['none'] }), ['job', 'new', 'paused']);
    assert.deepEqual(names({ health: ['healthy'] }), ['web']);
    assert.deepEqual(names({ network: ['host'] }), ['paused']);
    assert.deepEqual(names({ volume: ['data'] }), ['web']);
    assert.deepEqual(names({ volume: ['/mnt'] }), ['paused']);
    assert.deepEqual(names({ volume: ['/srv'] }), ['paused']);
    assert.deepEqual(names({ ancestor: ['base'] }), ['web', 'job', 'new', 'paused']);
    assert.deepEqual(names({ ancestor: ['child'] }), ['job']);
    assert.deepEqual(names({ ancestor: ['nosuch'] }), []);
    assert.deepEqual(names({ 'is-task': ['true'] }), []);
    assert.deepEqual(names({ 'is-task': ['false'] }), ['web', 'job', 'new', 'paused']);
    assert.deepEqual(names({ isolation: ['default'] }), ['web', 'job', 'new', 'paused']);
    assert.deepEqual(names({ publish: ['80'] }), []);
    assert.deepEqual(names({ expose: ['80-81/udp'] }), []);
  });

  it('before and since cut the list at a container; -n keeps the first N of what matched', () => {
    assert.deepEqual(names({ before: ['job'] }), ['new', 'paused']);
    assert.deepEqual(names({ since: ['new'] }), ['web', 'job']);
    assert.deepEqual(names({ since: ['/paused'], before: ['web'] }), ['job', 'new']);
    assert.deepEqual(names({ before: [hex('3')] }), ['paused']);
    assert.deepEqual(names({ status: ['exited', 'created', 'paused'] }, { limit: 2 }), ['job', 'new']);
  });
});
