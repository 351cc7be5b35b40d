/**
 * `--tmpfs` against docker 20.10.24: HostConfig.Tmpfs for what `docker create` accepted, the
 * messages for what it refused (the option check Docker only makes at start).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateFlagError } from './errors.js';
import { parseTmpfsFlags, runtimeTmpfs } from './tmpfs.js';

function fails(fn: () => unknown, message: string, stage: 'flag' | 'daemon' = 'daemon'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CreateFlagError, `not a CreateFlagError: ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.stage, stage);
    assert.equal(e.exitCode, 125);
    return true;
  });
}

describe('tmpfs', () => {
  it('reads --tmpfs: the last one for a destination wins', () => {
    assert.deepEqual(parseTmpfsFlags(['/run:size=1m', '/x', '/x:size=1m,mode=1777,uid=5,noexec,nr_inodes=10k']), {
      map: { '/run': 'size=1m', '/x': 'size=1m,mode=1777,uid=5,noexec,nr_inodes=10k' },
      mounts: [{ destination: '/run', options: ['size=1m'] }, { destination: '/x', options: ['size=1m', 'mode=1777', 'uid=5', 'noexec', 'nr_inodes=10k'] }],
    });
    assert.deepEqual(parseTmpfsFlags(['/x:']).mounts, [{ destination: '/x' }]);
    fails(() => parseTmpfsFlags(['rel']), "invalid mount path: 'rel' mount path must be absolute");
    fails(() => parseTmpfsFlags(['/']), "invalid specification: destination can't be '/'");
    fails(() => parseTmpfsFlags(['']), "invalid mount path: '' mount path must be absolute");
    // Docker finds this one at start: docker: Error response from daemon: invalid tmpfs option ["bogus"].
    fails(() => parseTmpfsFlags(['/x:bogus']), 'invalid tmpfs option ["bogus"]');
    fails(() => parseTmpfsFlags(['/x:foo=1']), 'invalid tmpfs option ["foo" "1"]');
  });


  it('makes tmpfs options of a --mount type=tmpfs as dockerd does', () => {
    assert.deepEqual(runtimeTmpfs({ type: 'tmpfs', destination: '/t', readOnly: true, sizeBytes: 1000 }), { destination: '/t', options: ['ro', 'size=1000'] });
    assert.deepEqual(runtimeTmpfs({ type: 'tmpfs', destination: '/t', readOnly: false, sizeBytes: 3 * 1024 ** 3 }), { destination: '/t', options: ['size=3g'] });
    assert.deepEqual(runtimeTmpfs({ type: 'tmpfs', destination: '/t', readOnly: false }), { destination: '/t' });
  });
});
