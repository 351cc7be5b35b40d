/**
 * cp's view of a container's mounts: which root a container path is copied from or to, at what
 * path, and the top entry's name — for the paths `docker cp` was seen to treat so (a volume at
 * /data: `/data`, `/data/`, `/data/.`, `/data/f`; a file bind; nested mounts; paths outside).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copyView, type CopyMount } from './cp-mounts.js';

const ROOT = '/store/containers/c/rootfs';
const MOUNTS: CopyMount[] = [
  { destination: '/data', source: '/store/volumes/v/_data', readOnly: false, file: false },
  { destination: '/data/sub', source: '/srv/sub', readOnly: true, file: false },
  { destination: '/etc/hostname', source: '/store/containers/c/hostname', readOnly: false, file: true },
];

test('a path outside every mount is the root filesystem\'s, as given', () => {
  assert.deepEqual(copyView(ROOT, MOUNTS, '/etc/motd'), { root: ROOT, path: '/etc/motd' });
  assert.deepEqual(copyView(ROOT, MOUNTS, 'etc/'), { root: ROOT, path: 'etc/' });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/database'), { root: ROOT, path: '/database' });
  assert.deepEqual(copyView(ROOT, [], '/data'), { root: ROOT, path: '/data' });
});

test('the mount point: its source from its directory, named as the container names it', () => {
  const m = MOUNTS[0]!;
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data'), { root: '/store/volumes/v', path: '/_data', top: 'data', mount: m });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data/'), { root: '/store/volumes/v/_data', path: '/', top: 'data', mount: m });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data/.'), { root: '/store/volumes/v/_data', path: '/.', mount: m });
  assert.deepEqual(copyView(ROOT, MOUNTS, '//data/./'), { root: '/store/volumes/v/_data', path: '/', top: 'data', mount: m });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/etc/hostname'), { root: '/store/containers/c', path: '/hostname', top: 'hostname', mount: MOUNTS[2] });
});

test('below a mount: inside its source; the deepest mount wins; a file mount has nothing below it', () => {
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data/f'), { root: '/store/volumes/v/_data', path: '/f', mount: MOUNTS[0] });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data/d/'), { root: '/store/volumes/v/_data', path: '/d/', mount: MOUNTS[0] });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data/sub/x/.'), { root: '/srv/sub', path: '/x/.', mount: MOUNTS[1] });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/data/../data/f'), { root: '/store/volumes/v/_data', path: '/f', mount: MOUNTS[0] });
  assert.deepEqual(copyView(ROOT, MOUNTS, '/etc/hostname/x'), { root: ROOT, path: '/etc/hostname/x' });
});
