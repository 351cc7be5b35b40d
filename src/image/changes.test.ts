import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from './changes.js';
import { InvalidArgumentError } from '../errors.js';

test('applyChanges: each allowed instruction', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'CMD echo hi',
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'ENV HOME=/root',
    'ENV P=$PATH:/usr/bin',
    'LABEL a=b "c d"=e',
    'EXPOSE 80 53/udp',
    'VOLUME /data',
    'USER nobody',
    'WORKDIR /srv',
    'WORKDIR app',
    'STOPSIGNAL SIGINT',
    'ONBUILD RUN make',
  ]);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'HOME=/root', 'P=/bin:/usr/bin']);
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/srv/app');
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.OnBuild, ['RUN make']);
});

test('applyChanges: replacing an ENV keeps one entry; input is not mutated', () => {
  const base = { Env: ['A=1'] };
  const c = applyChanges(base, ['ENV A=2']);
  assert.deepEqual(c.Env, ['A=2']);
  assert.deepEqual(base.Env, ['A=1']);
});

test('applyChanges: refuses what Docker refuses', () => {
  assert.throws(() => applyChanges({}, ['RUN make']), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'RUN is not a valid change command');
  assert.throws(() => applyChanges({}, ['FROM x']), /FROM is not a valid change command/);
  assert.throws(() => applyChanges({}, ['EXPOSE abc']), /invalid port/);
  assert.throws(() => applyChanges({}, ['CMD a\nCMD b']), /expected one instruction/);
});
