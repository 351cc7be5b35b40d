/**
 * Tests of the addon's process calls (native/src/process.c): spawnProcess, waitProcess and
 * isTerminal, and exitNow (in a child Node), with real programs (sh, sleep) on a temporary directory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { errnoCode, exitNow, isTerminal, spawnProcess, waitProcess } from './index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-process-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run `sh -c script` with stdin from /dev/null and stdout/stderr into files; [status, stdout, stderr]. */
async function sh(script: string, extraArgs: string[] = [], stderr?: number): Promise<[number, string, string]> {
  const out = join(dir, `out-${Math.random().toString(16).slice(2)}`);
  const err = `${out}.err`;
  const fds = [openSync('/dev/null', 'r'), openSync(out, 'w'), openSync(err, 'w')] as const;
  try {
    const p = spawnProcess('/bin/sh', ['sh', '-c', script, ...extraArgs], [fds[0], fds[1], stderr ?? fds[2]]);
    const status = await waitProcess(p);
    return [status, readFileSync(out, 'utf8'), readFileSync(err, 'utf8')];
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Whether fd `fd` of this process is close-on-exec. */
function closeOnExec(fd: number): boolean {
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  assert.ok(flags !== null);
  return (parseInt(flags[1]!, 8) & 0o2000000) !== 0;
}

describe('spawnProcess and waitProcess', () => {
  it('runs the program with its arguments and gives its exit code', async () => {
    const [status, out, err] = await sh('echo "$0 $1"; echo oops >&2; exit 7', ['zero', 'one']);
    assert.equal(status, 7);
    assert.equal(out, 'zero one\n');
    assert.equal(err, 'oops\n');
  });

  it('gives 128 + N for a process killed by signal N', async () => {
    const p = spawnProcess('/bin/sleep', ['sleep', '30'], [0, 1, 2]);
    process.kill(p.pid, 'SIGKILL');
    assert.equal(await waitProcess(p), 137);
  });

  it('hands over the given fds as 0, 1 and 2, and nothing else', async () => {
    const [status, out] = await sh('readlink /proc/self/fd/0; test -e /proc/self/fd/3 && echo leaked || echo none');
    assert.equal(status, 0);
    assert.equal(out, '/dev/null\nnone\n');
  });

  it('hands over an fd given as itself even when it is close-on-exec here (Node marks its stdio so)', async () => {
    assert.equal(closeOnExec(2), true, 'this process stderr is close-on-exec, as Node leaves it');
    const [status, out] = await sh('test -e /proc/self/fd/2 && echo open || echo closed', [], 2);
    assert.equal(status, 0);
    assert.equal(out, 'open\n');
  });

  it('starts the child with default signal handlers (Node ignores SIGPIPE)', async () => {
    const [status, out] = await sh("grep -E '^Sig(Ign|Blk):' /proc/self/status");
    assert.equal(status, 0);
    const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s+([0-9a-f]+)$`, 'm').exec(out)![1]}`);
    assert.equal(mask('SigBlk'), 0n, 'nothing blocked');
    // signals 1-31 (SIGPIPE among them) not ignored; glibc keeps 32 and 33 for itself
    assert.equal(mask('SigIgn') & 0x7fffffffn, 0n, out);
  });

  it('passes this process environment', async () => {
    process.env.CAIRN_SPAWN_TEST = 'value with spaces';
    try {
      const [, out] = await sh('printf %s "$CAIRN_SPAWN_TEST"');
      assert.equal(out, 'value with spaces');
    } finally {
      delete process.env.CAIRN_SPAWN_TEST;
    }
  });

  it('fails with ENOENT for a program that is not there, and refuses a relative path', () => {
    assert.throws(
      () => spawnProcess(join(dir, 'no-such-program'), ['x'], [0, 1, 2]),
      (e) => errnoCode(e) === 'ENOENT',
    );
    assert.throws(() => spawnProcess('sh', ['sh'], [0, 1, 2]), /absolute path/);
  });

  it('waits without holding the event loop: two children end in the order they exit', async () => {
    const slow = spawnProcess('/bin/sleep', ['sleep', '0.3'], [0, 1, 2]);
    const fast = spawnProcess('/bin/sleep', ['sleep', '0.05'], [0, 1, 2]);
    const order: string[] = [];
    await Promise.all([waitProcess(slow).then(() => order.push('slow')), waitProcess(fast).then(() => order.push('fast'))]);
    assert.deepEqual(order, ['fast', 'slow']);
  });
});

describe('isTerminal', () => {
  it('is false for a file and for /dev/null', () => {
    const fd = openSync(join(dir, 'plain'), 'w');
    const nul = openSync('/dev/null', 'r');
    try {
      assert.equal(isTerminal(fd), false);
      assert.equal(isTerminal(nul), false);
    } finally {
      closeSync(fd);
      closeSync(nul);
    }
  });

  it('is true for a pseudo-terminal', (t) => {
    let fd: number;
    try {
      fd = openSync('/dev/ptmx', 'r+');
    } catch (e) {
      t.skip(`no /dev/ptmx here: ${(e as Error).message}`);
      return;
    }
    try {
      assert.equal(isTerminal(fd), true);
    } finally {
      closeSync(fd);
    }
  });
});

describe('exitNow', () => {
  const index = new URL('./index.js', import.meta.url).href;

  it("ends the process with the code at once: what was written is out, 'exit' listeners and timers never run", () => {
    // 1 MB fills the pipe: the write completes (its callback) only once the reader has taken most of it
    const script = `
      import { exitNow } from ${JSON.stringify(index)};
      process.on('exit', () => process.stdout.write('exit listener ran'));
      process.stderr.write('to stderr');
      setTimeout(() => process.stdout.write('timer ran'), 1000);
      process.stdout.write('x'.repeat(1 << 20), () => exitNow(7));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 4 << 20 });
    assert.equal(r.status, 7);
    assert.equal(r.stdout, 'x'.repeat(1 << 20));
    assert.equal(r.stderr, 'to stderr');
  });

  it('refuses a code outside 0..255 and leaves the process running', () => {
    assert.throws(() => exitNow(256), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => exitNow(-1), { code: 'ERR_OUT_OF_RANGE' });
  });
});
