/**
 * Detached containers through the real CLI, on real conmon, crun and overlayfs: `run -d` leaves
 * no cairn process; `ps`, `logs`, `attach`, `wait`, `stop` and `start` work from new processes;
 * conmon's exit command records the exit and does `--rm`; a killed conmon shows as exited;
 * `run -t` gets a real terminal through conmon (size, exit code) under script(1). Every
 * container is removed at the end; no conmon of this store is left running.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CAIRN, busyboxRunTar, cairn, cairnOk, tempDir, unmountUnder } from './helpers.js';
import { processRunning } from '../src/process.js';

describe('containers (detached, under conmon)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let root: string;

  async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  const status = async (name: string) => (await cairnOk(root, ['ps', '-a', '--format', '{{.Status}}', '-f', `name=^${name}$`])).stdout.trim();
  /** conmon processes (not zombies) watching containers of this store. */
  const conmons = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root) && readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'conmon' && processRunning(Number(p));
        } catch {
          return false;
        }
      });

  before(async () => {
    dir = await tempDir('cairn-detached-');
    root = join(dir.path, 'root');
    await cairnOk(root, ['import', '-', 'bb:1'], { input: await busyboxRunTar() });
  });

  after(async () => {
    const ids = (await cairn(root, ['ps', '-aq'])).stdout.split('\n').filter((l) => l !== '');
    if (ids.length > 0) await cairn(root, ['rm', '-f', ...ids]);
    await until('every conmon of the store to exit', () => conmons().length === 0).catch(() => undefined);
    unmountUnder(dir.path);
    await dir.cleanup();
  });

  it('run -d prints the ID and returns; the container runs on; logs reads its output (tail, -t, since/until)', async () => {
    const r = await cairnOk(root, ['run', '-d', '--name', 'ticker', 'bb:1', 'sh', '-c', 'echo start; echo oops >&2; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done']);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    assert.match(await status('ticker'), /^Up /);
    await until('ticks', async () => (await cairnOk(root, ['logs', 'ticker'])).stdout.includes('tick 3'));
    const all = await cairnOk(root, ['logs', 'ticker']);
    assert.match(all.stdout, /^start\ntick 1\ntick 2\n/);
    assert.equal(all.stderr, 'oops\n');
    const tail = (await cairnOk(root, ['logs', '--tail', '2', 'ticker'])).stdout.split('\n');
    assert.equal(tail.length, 3);
    assert.match(tail[0]!, /^tick \d+$/);
    const stamped = (await cairnOk(root, ['logs', '-t', '--tail', '1', 'ticker'])).stdout;
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+\n$/);
    assert.equal((await cairnOk(root, ['logs', '--since', '1h', '--until', '1970-01-02T00:00:00Z', 'ticker'])).stdout, '');
    assert.equal((await cairnOk(root, ['logs', '--until', '3000-01-01T00:00:00Z', '--tail', '1', 'ticker'])).stdout.split('\n').length, 2);
  });

  it('logs -f follows until the container stops; stop ends it with the stop signal, then SIGKILL', async () => {
    const follow = spawnAsync(['logs', '-f', 'ticker']);
    await sleep(400);
    const t0 = Date.now();
    assert.equal((await cairnOk(root, ['stop', '-t', '1', 'ticker'])).stdout, 'ticker\n');
    assert.ok(Date.now() - t0 >= 900, 'sh ignores SIGTERM as PID 1: killed after the timeout');
    const f = await follow;
    assert.equal(f.code, 0, `logs -f: ${f.stderr}`);
    assert.match(f.stdout, /tick \d+\n$/);
    assert.match(await status('ticker'), /^Exited \(137\)/);
    assert.equal(conmons().filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('ticker')).length, 0);
  });

  it('start restarts an exited container in the background; wait gives its exit code', async () => {
    await cairnOk(root, ['create', '--name', 'once', 'bb:1', 'sh', '-c', 'sleep 0.3; echo ran; exit 4']);
    assert.equal(await status('once'), 'Created');
    assert.equal((await cairnOk(root, ['start', 'once'])).stdout, 'once\n');
    assert.equal((await cairnOk(root, ['wait', 'once'])).stdout, '4\n');
    assert.match(await status('once'), /^Exited \(4\)/);
    await cairnOk(root, ['start', 'once']);
    assert.equal((await cairnOk(root, ['wait', 'once'])).stdout, '4\n');
    assert.equal((await cairnOk(root, ['logs', 'once'])).stdout, 'ran\nran\n');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(root, 'containers')));
    assert.deepEqual(mounts, [], 'an exited container is unmounted by the exit command');
  });

  it('run -d --rm: the exit command removes the container when it exits', async () => {
    const id = (await cairnOk(root, ['run', '-d', '--rm', 'bb:1', 'sh', '-c', 'sleep 0.2'])).stdout.trim();
    // the record goes first, then the snapshot and the container's directory: wait for the whole removal
    await until('the container to go', async () => !(await cairnOk(root, ['ps', '-aq', '--no-trunc'])).stdout.includes(id) && !existsSync(join(root, 'containers', id)));
  });

  it('attach joins a running container (stdin in, output out) until it exits', async () => {
    await cairnOk(root, ['run', '-d', '-i', '--name', 'cat', 'bb:1', 'sh', '-c', 'while read l; do echo "got $l"; [ "$l" = bye ] && exit 3; done']);
    const r = await cairn(root, ['attach', 'cat'], { input: 'one\nbye\n' });
    assert.equal(r.stdout, 'got one\ngot bye\n');
    assert.equal(r.code, 3);
  });

  it('stats --no-stream: CPU, memory against the limit, PIDs of running containers', async () => {
    await cairnOk(root, ['run', '-d', '--name', 'busy', '-m', '64m', 'bb:1', 'sh', '-c', 'sleep 30 & while :; do :; done']);
    try {
      const r = await cairnOk(root, ['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}', 'busy']);
      const m = /^busy (\d+\.\d\d)% ([\d.]+[KMG]?i?B) \/ 64MiB (\d+)\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.ok(Number(m[1]) > 20, `a busy loop uses CPU: ${m[1]}%`);
      assert.equal(m[3], '2');
      assert.match((await cairnOk(root, ['stats', '--no-stream'])).stdout, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n/);
    } finally {
      await cairnOk(root, ['rm', '-f', 'busy']);
    }
  });

  it('a killed conmon: the container shows as exited and is cleaned up', async () => {
    await cairnOk(root, ['run', '-d', '--name', 'orphan', 'bb:1', 'sleep', '60']);
    const pid = conmons().find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('orphan'));
    assert.ok(pid, 'its conmon');
    process.kill(Number(pid), 'SIGKILL');
    await until('conmon to die', () => !processRunning(Number(pid)));
    assert.match(await status('orphan'), /^Exited \(255\)/);
    const sleeping = spawnSync('pgrep', ['-f', 'sleep 60']).stdout.toString().trim();
    for (const p of sleeping.split('\n').filter((x) => x !== '')) assert.ok(!readFileSync(`/proc/${p}/cgroup`, 'utf8').includes('orphan'));
    await cairnOk(root, ['rm', 'orphan']);
  });

  it('an exit conmon has written counts at once, before its exit command has run (stop and wait do not wait for it)', async () => {
    const id = (await cairnOk(root, ['run', '-d', '--name', 'written', 'bb:1', 'sleep', '60'])).stdout.trim();
    const pid = conmons().find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('written'));
    assert.ok(pid, 'its conmon');
    // conmon and the container still run; the exit file says the container ended with 7
    writeFileSync(join(root, 'containers', id, 'conmon', 'exit'), '7');
    assert.ok(processRunning(Number(pid)), 'conmon still runs');
    assert.match(await status('written'), /^Exited \(7\)/);
    assert.equal((await cairnOk(root, ['wait', 'written'])).stdout, '7\n');
    await cairnOk(root, ['rm', 'written']);
  });

  it('run -t gets a terminal through conmon: its size, a tty, the exit code; --rm removes it', async () => {
    const cmd = `stty cols 91 rows 17; ${process.execPath} ${CAIRN} --root ${root} run --rm -t bb:1 sh -c 'stty size; tty; exit 6'`;
    const r = spawnSync('script', ['-eqc', cmd, '/dev/null'], { encoding: 'utf8', input: '' });
    assert.equal(r.status, 6, r.stdout + r.stderr);
    assert.match(r.stdout, /17 91\r?\r?\n\/dev\/pts\/0/);
    assert.doesNotMatch((await cairnOk(root, ['ps', '-a', '--format', '{{.Command}}'])).stdout, /stty size/);
  });

  /** Run cairn with output collected, resolving when it exits. */
  function spawnAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return cairn(root, args);
  }
});
