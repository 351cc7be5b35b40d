import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckReport, Finding } from '../../check/check.js';
import { findingLine, summaryLine } from './system-check.js';

const blob: Finding = {
  kind: 'blob-corrupt',
  object: 'blob sha256:ab',
  message: 'image config: content does not match its digest',
  affects: { images: ['a:1', 'b:2'], containers: ['c1'] },
  repair: 'remove it',
};

test('a finding is one line: object, message, what it affects, what --repair does or did', () => {
  assert.equal(findingLine(blob, false), 'blob sha256:ab: image config: content does not match its digest (affects image a:1, image b:2, container c1) [repair: remove it]');
  assert.equal(findingLine({ ...blob, attempted: true, repaired: false, marked: ['a:1'] }, true), 'blob sha256:ab: image config: content does not match its digest (affects image a:1, image b:2, container c1) [repair: remove it: done; marked damaged: image a:1]');
  assert.equal(findingLine({ ...blob, affects: { images: [], containers: [] }, repair: undefined }, true), 'blob sha256:ab: image config: content does not match its digest');
});

test('the summary counts what was found, repaired and remains', () => {
  const report = (n: number, remaining: number, repaired: boolean, hashed = true): CheckReport => ({ findings: Array.from({ length: n }, () => blob), hashed, repaired, remaining });
  assert.equal(summaryLine(report(0, 0, false)), 'no problems found');
  assert.equal(summaryLine(report(0, 0, true, false)), 'no problems found (--quick: contents not re-hashed)');
  assert.equal(summaryLine(report(1, 1, false)), '1 problem found');
  assert.equal(summaryLine(report(3, 1, true)), '3 problems found: 2 repaired, 1 remains');
  assert.equal(summaryLine(report(3, 0, true)), '3 problems found: 3 repaired, 0 remain');
});
