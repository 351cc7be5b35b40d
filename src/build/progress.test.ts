import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlainProgress, TtyProgress } from './progress.js';

test('the plain printer: numbered vertices, digest, timed output lines, DONE/CACHED/ERROR, headers again after another vertex', () => {
  let t = 0;
  let out = '';
  const p = new PlainProgress((s) => (out += s), () => t);
  const a = p.start({ name: '[1/2] RUN echo hi' });
  a.digest('sha256:abc');
  t = 77;
  a.log('hi\npart');
  const b = p.start({ name: '[internal] load build context' });
  b.status('transferring context: 2B done');
  b.done();
  t = 1200;
  a.log('ial\n');
  a.error('exit code: 3');
  p.start({ name: '[2/2] COPY a b' }).cached();
  assert.equal(
    out,
    '#1 [1/2] RUN echo hi\n#1 sha256:abc\n#1 0.077 hi\n\n#2 [internal] load build context\n#2 transferring context: 2B done\n#2 DONE 0.0s\n\n' +
      '#1 [1/2] RUN echo hi\n#1 1.200 partial\n#1 ERROR: exit code: 3\n\n#3 [2/2] COPY a b\n#3 CACHED\n\n',
  );
});

test('the terminal display: a frame as BuildKit draws it, redrawn in place, FINISHED at the end', async () => {
  let t = 0;
  let out = '';
  const p = new TtyProgress((s) => (out += s), () => 60, () => t);
  const a = p.start({ name: '[internal] load build definition from Dockerfile' });
  a.status('transferring dockerfile: 32B done');
  a.done();
  const c = p.start({ name: '[1/2] FROM docker.io/library/bb:1' });
  c.cached();
  t = 100;
  const r = p.start({ name: '[2/2] RUN echo "a very long command that does not fit in the line at all"' });
  r.log('one\ntwo\n');
  // The display redraws itself ten times a second: one frame while the RUN runs, then the last.
  await new Promise((resolve) => setTimeout(resolve, 150));
  t = 1500;
  p.finish();
  const frame = out.slice(out.lastIndexOf('\x1b[0G'));
  const lines = frame.split('\n');
  assert.equal(lines[0], '\x1b[0G\x1b[?25l' + '[+] Building 1.5s (2/3) FINISHED'.padEnd(60));
  const visible = lines.map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''));
  // Each vertex and status line: one column short of the width, the time right-aligned after two spaces.
  assert.match(visible[1]!, /^ => \[internal\] load build definition from Dockerfile +0\.0s$/);
  assert.match(visible[2]!, /^ => => transferring dockerfile: 32B +0\.0s$/);
  assert.match(visible[3]!, /^ => CACHED \[1\/2\] FROM docker\.io\/library\/bb:1 +0\.0s$/);
  assert.equal(visible[4], ' => [2/2] RUN echo "a very long command that does not  1.4s', 'cut to fit');
  assert.equal(visible[5], ' => => # one'.padEnd(59));
  assert.equal(visible[6], ' => => # two'.padEnd(59));
  for (const i of [1, 2, 3, 4]) assert.equal(visible[i]!.length, 59);
  assert.ok(lines[1]!.startsWith('\x1b[34m') && lines[3]!.startsWith('\x1b[0m\x1b[34m'), 'done and cached vertices in blue');
  assert.ok(lines[4]!.startsWith('\x1b[0m => '), 'a running vertex in the default colour');
  assert.ok(lines[5]!.startsWith('\x1b[0m\x1b[2m'), 'its output dim');
  assert.ok(lines.every((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length <= 60));
  assert.ok(out.endsWith('\x1b[0m\x1b[?25h'), 'the cursor given back');
  // Before this frame, the last one was erased by moving up over every line it drew.
  assert.match(out, /\x1b\[\?25h(\x1b\[1A)+\x1b\[0G\x1b\[\?25l\[\+\] Building 1\.5s/);
});
