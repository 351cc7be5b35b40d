import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chainId, chainIds } from './chainid.js';
import { InvalidArgumentError } from '../errors.js';
import type { Digest } from '../digest/digest.js';

// The diff_ids of the OCI spec's config.md example.
const L0 = 'sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1' as Digest;
const L1 = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as Digest;
const L2 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' as Digest;

const sha = (s: string) => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;

test('ChainID(L0) is DiffID(L0)', () => {
  assert.equal(chainId([L0]), L0);
  assert.deepEqual(chainIds([L0]), [L0]);
});

test('two layers: sha256 of "chain(L0) diff(L1)"', () => {
  // Pinned: `printf '%s' 'sha256:c6f9…bbd1 sha256:5f70…c6ef' | sha256sum`
  const want = 'sha256:c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f';
  assert.equal(sha(`${L0} ${L1}`), want);
  assert.equal(chainId([L0, L1]), want);
});

test('three layers chain on the previous chainID, not on the diffID', () => {
  const c1 = sha(`${L0} ${L1}`);
  const c2 = sha(`${c1} ${L2}`);
  assert.deepEqual(chainIds([L0, L1, L2]), [L0, c1, c2]);
  assert.equal(chainId([L0, L1, L2]), c2);
  assert.notEqual(c2, sha(`${L1} ${L2}`));
  // order matters
  assert.notEqual(chainId([L1, L0]), chainId([L0, L1]));
});

test('empty stacks', () => {
  assert.deepEqual(chainIds([]), []);
  assert.throws(() => chainId([]), InvalidArgumentError);
});
