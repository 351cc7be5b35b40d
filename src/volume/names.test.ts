import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { naturalCompare, randomVolumeName, validateVolumeName, volumeNameProblem } from './names.js';

test('volume names: Docker\'s rule and words', () => {
  for (const ok of ['ab', 'a_', 'A.b-c_9', '0a', 'x'.repeat(255)]) assert.equal(volumeNameProblem(ok, '/r/volumes/' + ok), undefined, ok);
  assert.equal(volumeNameProblem('a', '/r/volumes/a'), 'volume name is too short, names should be at least two alphanumeric characters');
  assert.equal(
    volumeNameProblem('bad/name', '/r/volumes/bad/name'),
    '"bad/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
  );
  for (const bad of ['_a', '-abc', '.ab', 'a b', 'ä1', 'a:b']) assert.match(volumeNameProblem(bad, '/x') ?? '', /includes invalid characters/, bad);
  // Go's %q for what JSON would write otherwise
  assert.match(volumeNameProblem('a\x01b', '/x') ?? '', /^"a\\x01b" includes/);
  const long = 'x'.repeat(256);
  assert.equal(volumeNameProblem(long, `/r/volumes/${long}`), `error while creating volume root path '/r/volumes/${long}': mkdir /r/volumes/${long}: file name too long`);
  assert.throws(() => validateVolumeName('a', '/r/volumes/a'), (e: unknown) => e instanceof InvalidArgumentError && e.exitCode === 1 && e.message.startsWith('create a: volume name is too short'));
});

test('a volume made without a name gets 64 random hex digits', () => {
  const a = randomVolumeName();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, randomVolumeName());
});

test('naturalCompare is sortorder.NaturalLess, the order of docker volume ls', () => {
  // from the reference: 0a96..., 03f5..., 0408..., ref-vol-auto ...
  const names = ['ref-vol-named', '040850b7ae', 'ref-vol-auto', '03f50c724f', '0a9697966692', 'ref-vol-10', 'ref-vol-9', 'Zed', 'a1', 'a01', 'a001b'];
  assert.deepEqual([...names].sort(naturalCompare), ['0a9697966692', '03f50c724f', '040850b7ae', 'Zed', 'a1', 'a01', 'a001b', 'ref-vol-9', 'ref-vol-10', 'ref-vol-auto', 'ref-vol-named']);
  assert.equal(naturalCompare('ab', 'ab'), 0);
  assert.ok(naturalCompare('ab', 'abc') < 0);
  assert.ok(naturalCompare('a2', 'a10') < 0);
});
