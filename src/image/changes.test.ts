import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from './changes.js';
import { InvalidArgumentError } from '../errors.js';

test('applyChanges: each instruction Docker 20.10 takes', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'CMD echo hi',
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'ENV HOME=/root',
    'ENV P=$PATH:/usr/bin',
    'LABEL a=b "c d"=e',
    'EXPOSE 80 53/udp 8000-8001',
    'VOLUME /data',
    'USER nobody',
    'WORKDIR /srv',
    'WORKDIR app/../lib',
    'HEALTHCHECK --interval=5s --retries=2 CMD true',
    'ONBUILD RUN make',
  ]);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi'], 'a CMD set by the changes stays when ENTRYPOINT follows');
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'HOME=/root', 'P=/bin:/usr/bin']);
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp'], 'a range is one port each');
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/srv/lib', 'a relative WORKDIR joined and cleaned');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 });
  assert.deepEqual(c.OnBuild, ['RUN make']);
});

test('applyChanges: ENV is expanded before it applies; replacing an ENV keeps its place; input is not mutated', () => {
  const base = { Env: ['A=1', 'Z=9'] };
  const c = applyChanges(base, ['ENV B=2 A=$B']);
  assert.deepEqual(c.Env, ['A=', 'Z=9', 'B=2'], "the words are expanded with the environment before the instruction: B is not set yet");
  assert.deepEqual(base.Env, ['A=1', 'Z=9']);
  assert.equal(applyChanges({}, ['WORKDIR /a/../b']).WorkingDir, '/a/../b', 'an absolute WORKDIR as given');
  assert.equal(applyChanges({ Cmd: ['x'] }, ['ENTRYPOINT ["e"]']).Cmd, undefined, "ENTRYPOINT clears a CMD the changes did not set");
});

test("applyChanges: refuses what Docker 20.10 refuses, in its words", () => {
  const refuses = (changes: string[], message: string): void => {
    assert.throws(() => applyChanges({}, changes), (e: unknown) => e instanceof InvalidArgumentError && e.message === message, `${JSON.stringify(changes)}: ${message}`);
  };
  refuses(['RUN make'], 'run is not a valid change command');
  refuses(['FROM x'], 'from is not a valid change command');
  refuses(['STOPSIGNAL SIGINT'], 'stopsignal is not a valid change command');
  refuses(['CMD a', 'SHELL ["/bin/sh"]'], 'shell is not a valid change command');
  refuses(['EXPOSE 99999'], 'Invalid containerPort: 99999');
  refuses(['EXPOSE abc'], 'Invalid containerPort: abc');
  refuses(['EXPOSE 80-79'], 'Invalid containerPort: 80-79');
  refuses(['EXPOSE 80/xyz'], 'Invalid proto: xyz');
  refuses(['EXPOSE'], 'EXPOSE requires at least one argument');
  refuses(['ENV'], 'ENV requires at least one argument');
  refuses(['ENV A'], 'ENV must have two arguments');
  refuses(['USER'], 'USER requires exactly one argument');
  refuses(['WORKDIR'], 'WORKDIR requires exactly one argument');
  refuses(['VOLUME'], 'VOLUME requires at least one argument');
  refuses(['ONBUILD FROM x'], "FROM isn't allowed as an ONBUILD trigger");
  refuses([''], 'file with no instructions');
});
