/**
 * Containers end to end through the real CLI, as root, on real crun and kernel overlayfs: run in
 * the foreground (output, exit codes, --rm), the layer model (two containers of one image do
 * not see each other's writes; a change is copied up and the image's layer is untouched; the
 * writable layer holds only the changes and goes with `rm`), stop/kill/wait from another
 * process, exec, rmi's conflicts with containers, and bad input that leaves nothing behind (no
 * record, snapshot, mount or runtime state). Every container, mount and process is removed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CAIRN, busyboxRunTar, cairn, cairnOk, makeDockerArchive, makeTar, tempDir, unmountUnder } from './helpers.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('containers (foreground)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let root: string;

  /** What a container leaves on the machine: records, snapshots, mounts, runtime state. */
  function traces(): { containers: string[]; snapshots: string[]; mounts: string[]; runtime: string[] } {
    const list = (p: string) => (existsSync(p) ? readdirSync(p).filter((n) => !n.startsWith('.')) : []);
    return {
      containers: list(join(root, 'containers')),
      snapshots: list(join(root, 'snapshots', 'overlay')),
      mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(root, 'containers'))),
      runtime: list(join(root, 'runtime', 'crun')),
    };
  }

  /** A cairn command left running (a foreground container); `closed` is its exit code. */
  function background(args: string[]): { closed: Promise<number | null>; stderr: () => string; kill: (s: NodeJS.Signals) => void } {
    const child = spawn(process.execPath, [CAIRN, '--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return { closed: new Promise((r) => child.on('close', (c) => r(c))), stderr: () => err, kill: (s) => child.kill(s) };
  }

  /** Wait until `n` containers run. */
  async function running(n: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await cairnOk(root, ['ps', '-q'])).stdout.split('\n').filter((l) => l !== '').length >= n) return;
      await sleep(50);
    }
    assert.fail(`${n} containers did not start: ${(await cairn(root, ['ps', '-a'])).stdout}`);
  }

  async function ps(): Promise<string[]> {
    return (await cairnOk(root, ['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter((l) => l !== '');
  }

  /** The upper (writable) directory of a container's snapshot. */
  function upperOf(id: string): string {
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(join(root, 'containers', id, 'rootfs')));
    assert.ok(line, 'the container is mounted');
    return /upperdir=([^,\s]+)/.exec(line)![1]!;
  }

  before(async () => {
    dir = await tempDir('cairn-containers-');
    root = join(dir.path, 'root');
    await cairnOk(root, ['import', '-', 'bb:1'], { input: await busyboxRunTar() });
  });

  after(async () => {
    for (const id of await ps()) await cairn(root, ['rm', '-f', id]);
    unmountUnder(dir.path);
    await dir.cleanup();
  });

  it('run prints the command\'s output and exits with its code; stdout and stderr stay apart', async () => {
    const r = await cairn(root, ['run', '--rm', 'bb:1', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('run --rm writes straight to cairn\'s own stdout and stderr (stdin /dev/null); a kept container\'s output is piped and logged', async () => {
    const out = join(dir.path, 'direct.out');
    const err = join(dir.path, 'direct.err');
    const show = 'stat -L -c %i /proc/self/fd/1; stat -L -c %i /proc/self/fd/2 >&2; readlink /proc/self/fd/0';
    for (const rm of [true, false]) {
      const fds = [openSync(out, 'w'), openSync(err, 'w')];
      const child = spawn(process.execPath, [CAIRN, '--root', root, 'run', ...(rm ? ['--rm'] : ['--name', 'kept-out']), 'bb:1', 'sh', '-c', show], { stdio: ['ignore', fds[0], fds[1]] });
      const code = await new Promise<number | null>((r) => child.on('close', r));
      for (const fd of fds) closeSync(fd);
      assert.equal(code, 0, readFileSync(err, 'utf8'));
      const [ino1, stdin] = readFileSync(out, 'utf8').trim().split('\n');
      const ino2 = readFileSync(err, 'utf8').trim();
      if (rm) {
        // the very files cairn was given: nothing copied on the way
        assert.equal(Number(ino1), statSync(out).ino);
        assert.equal(Number(ino2), statSync(err).ino);
      } else {
        assert.notEqual(Number(ino1), statSync(out).ino, 'a kept container writes into a pipe cairn copies from');
        assert.match((await cairnOk(root, ['logs', 'kept-out'])).stdout, /^\d+\n\/dev\/null\n$/);
        await cairnOk(root, ['rm', 'kept-out']);
      }
      assert.equal(stdin, '/dev/null');
    }
  });

  it('run without -t on a terminal: the container never sees a terminal (its output is piped through cairn)', async (t) => {
    if (!existsSync('/usr/bin/script')) {
      t.skip('script(1) (util-linux) is not installed');
      return;
    }
    const cmd = `${process.execPath} ${CAIRN} --root ${root} run --rm bb:1 sh -c 'test -t 1 && echo tty1 || echo pipe1; test -t 2 && echo tty2 || echo pipe2'`;
    const r = spawnSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.replace(/\r/g, ''), 'pipe1\npipe2\n');
  });

  it('run --rm leaves no record, snapshot, mount or runtime state', async () => {
    const before = traces();
    await cairnOk(root, ['run', '--rm', 'bb:1', 'sh', '-c', 'echo x > /new']);
    assert.deepEqual(traces(), before);
  });

  it('a --rm container\'s root is a volatile overlay (no sync at its end); a kept container\'s is not', async () => {
    // Linux 6.6+ shows the option as fsync=volatile
    const isVolatile = (o: string): boolean => o === 'volatile' || o === 'fsync=volatile';
    const rootOptions = (mounts: string): string[] => {
      const line = mounts.split('\n').find((l) => l.split(' ')[1] === '/');
      assert.ok(line !== undefined, mounts);
      assert.equal(line.split(' ')[2], 'overlay');
      return line.split(' ')[3]!.split(',');
    };
    assert.ok(rootOptions((await cairnOk(root, ['run', '--rm', 'bb:1', 'cat', '/proc/mounts'])).stdout).some(isVolatile));
    const kept = await cairnOk(root, ['run', '--name', 'durable', 'bb:1', 'cat', '/proc/mounts']);
    assert.ok(!rootOptions(kept.stdout).some(isVolatile));
    await cairnOk(root, ['rm', 'durable']);
  });

  it('run without --rm keeps the exited container; ps -a shows it, rm takes its writable layer off the disk', async () => {
    const before = traces();
    const r = await cairnOk(root, ['run', '--name', 'kept', 'bb:1', 'sh', '-c', 'echo hi > /hello']);
    assert.equal(r.stdout, '');
    const row = (await cairnOk(root, ['ps', '-a', '--format', '{{.Names}} {{.Status}} {{.Command}}', '-f', 'name=kept'])).stdout;
    assert.match(row, /^kept Exited \(0\) .* ago "sh -c 'echo hi > \/h…"\n$/);
    const now = traces();
    assert.equal(now.containers.length, before.containers.length + 1);
    assert.equal(now.snapshots.length, before.snapshots.length + 1, 'one writable snapshot');
    assert.deepEqual(now.mounts, [], 'an exited container is not mounted');
    assert.equal((await cairnOk(root, ['rm', 'kept'])).stdout, 'kept\n');
    assert.deepEqual(traces(), before);
  });

  it('two containers of one image write different files and neither sees the other\'s; the image layer is untouched', async () => {
    const layerMotd = (() => {
      const dirs = readdirSync(join(root, 'snapshots', 'overlay')).map((n) => join(root, 'snapshots', 'overlay', n, 'fs', 'etc', 'motd'));
      return dirs.find((p) => existsSync(p))!;
    })();
    const before = sha(layerMotd);
    const a = background(['run', '--name', 'ca', 'bb:1', 'sh', '-c', 'echo a > /only-a; echo changed > /etc/motd; sleep 30']);
    const b = background(['run', '--name', 'cb', 'bb:1', 'sh', '-c', 'echo b > /only-b; sleep 30']);
    try {
      await running(2);
      await sleep(300);
      const seenA = (await cairnOk(root, ['exec', 'ca', 'sh', '-c', 'ls /only-*; cat /etc/motd'])).stdout;
      const seenB = (await cairnOk(root, ['exec', 'cb', 'sh', '-c', 'ls /only-*; cat /etc/motd'])).stdout;
      assert.equal(seenA, '/only-a\nchanged\n');
      assert.equal(seenB, '/only-b\nfrom the image\n');
      const idA = (await cairnOk(root, ['ps', '-q', '--no-trunc', '-f', 'name=^ca$'])).stdout.trim();
      const upper = upperOf(idA);
      // The writable layer holds only the changes: the new file and the copied-up /etc/motd.
      const files: string[] = [];
      const walk = (d: string, rel: string): void => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const r = `${rel}/${e.name}`;
          if (e.isDirectory()) walk(join(d, e.name), r);
          else files.push(r);
        }
      };
      walk(upper, '');
      assert.deepEqual(files.filter((f) => !f.startsWith('/proc') && !f.startsWith('/sys') && !f.startsWith('/dev') && !f.startsWith('/etc/host') && !f.startsWith('/etc/resolv')).sort(), ['/etc/motd', '/only-a']);
      assert.equal(readFileSync(join(upper, 'etc', 'motd'), 'utf8'), 'changed\n');
      assert.equal(sha(layerMotd), before, "the image's layer is untouched");
    } finally {
      await cairn(root, ['rm', '-f', 'ca', 'cb']);
      await Promise.all([a.closed, b.closed]);
    }
  });

  it('stop, kill and wait work from another process on a foreground container', async () => {
    const fg = background(['run', '--name', 'fg', 'bb:1', 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
    const exited = fg.closed;
    try {
      await running(1);
      await sleep(300);
      const waiter = cairn(root, ['wait', 'fg']);
      assert.equal((await cairnOk(root, ['stop', 'fg'])).stdout, 'fg\n');
      assert.equal(await exited, 7, 'the foreground run exits with the container');
      assert.equal((await waiter).stdout, '7\n');
      assert.match((await cairnOk(root, ['ps', '-a', '--format', '{{.Status}}', '-f', 'name=fg'])).stdout, /^Exited \(7\)/);
      const k = await cairn(root, ['kill', 'fg']);
      assert.equal(k.code, 1);
      assert.match(k.stderr, /is not running/);
    } finally {
      await cairn(root, ['rm', '-f', 'fg']);
    }
  });

  it('exec runs in the container with -e, -u and -w; a missing command is 127; a stopped container is refused', async () => {
    const fg = background(['run', '--name', 'ex', '-e', 'A=1', 'bb:1', 'sleep', '30']);
    try {
      await running(1);
      await sleep(300);
      const r = await cairnOk(root, ['exec', '-e', 'B=2', '-u', 'nobody', '-w', '/tmp', 'ex', 'sh', '-c', 'echo $A$B; id -u; pwd']);
      assert.equal(r.stdout, '12\n65534\n/tmp\n');
      assert.equal((await cairn(root, ['exec', 'ex', 'sh', '-c', 'exit 9'])).code, 9);
      assert.equal((await cairn(root, ['exec', 'ex', 'no-such-command'])).code, 126); // Docker 20.10's exec: 126 for any process that cannot start
    } finally {
      await cairn(root, ['rm', '-f', 'ex']);
      await fg.closed;
    }
    await cairnOk(root, ['create', '--name', 'idle', 'bb:1', 'true']);
    const r = await cairn(root, ['exec', 'idle', 'true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not running/);
    await cairnOk(root, ['rm', 'idle']);
  });

  it('pause freezes and unpause thaws; top lists the container\'s processes; rename; port is empty', async () => {
    const fg = background(['run', '--name', 'pz', 'bb:1', 'sh', '-c', 'sleep 31 & sleep 32']);
    try {
      await running(1);
      await sleep(200);
      const top = (await cairnOk(root, ['top', 'pz'])).stdout.split('\n');
      assert.match(top[0]!, /^UID\s+PID\s+PPID/);
      assert.ok(top.some((l) => l.endsWith('sleep 31')) && top.some((l) => l.endsWith('sleep 32')), top.join('\n'));
      assert.equal((await cairnOk(root, ['pause', 'pz'])).stdout, 'pz\n');
      assert.match((await cairnOk(root, ['ps', '--format', '{{.Status}}'])).stdout, /^Up .* \(Paused\)\n$/);
      const frozen = readFileSync(`/proc/${top[1]!.trim().split(/\s+/)[1]}/status`, 'utf8');
      assert.match(frozen, /^State:\s+[SD]/m);
      const again = await cairn(root, ['pause', 'pz']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /is already paused/);
      const ex = await cairn(root, ['exec', 'pz', 'true']);
      assert.match(ex.stderr, /is paused, unpause the container before exec/);
      await cairnOk(root, ['unpause', 'pz']);
      assert.equal((await cairnOk(root, ['exec', 'pz', 'echo', 'thawed'])).stdout, 'thawed\n');
      await cairnOk(root, ['rename', 'pz', 'pz2']);
      assert.equal((await cairnOk(root, ['ps', '--format', '{{.Names}}'])).stdout, 'pz2\n');
      assert.equal((await cairnOk(root, ['port', 'pz2'])).stdout, '');
    } finally {
      await cairn(root, ['rm', '-f', 'pz2', 'pz']);
      await fg.closed;
    }
  });

  it('--rm on every exit path: a SIGTERM is forwarded and the container goes; a SIGKILLed cairn\'s container is cleaned by the next command', async () => {
    const before = traces();
    const term = background(['run', '--rm', 'bb:1', 'sh', '-c', 'trap "exit 5" TERM; while :; do sleep 0.1; done']);
    await running(1);
    term.kill('SIGTERM');
    assert.equal(await term.closed, 5);
    assert.deepEqual(traces(), before);
    const killed = background(['run', '--rm', 'bb:1', 'sleep', '60']);
    await running(1);
    const pid = Number((await cairnOk(root, ['top', (await ps())[0]!, '-o', 'pid'])).stdout.split('\n')[1]);
    killed.kill('SIGKILL');
    await killed.closed;
    const left = (await cairnOk(root, ['ps', '-a'])).stdout;
    assert.equal(left.split('\n').length, 2, `the header only: the --rm container is gone: ${left}`);
    assert.deepEqual(traces(), before);
    assert.equal(existsSync(`/proc/${pid}`), false, "the container's process is gone");
  });

  it('healthcheck run: starting, unhealthy after the retries, healthy once the check passes; ps shows it', async () => {
    const fg = background(['run', '--name', 'hc', '--health-cmd', 'test -f /ok', '--health-retries', '2', 'bb:1', 'sleep', '30']);
    try {
      await running(1);
      const status = async () => (await cairnOk(root, ['ps', '--format', '{{.Status}}'])).stdout.replace(/^Up [^(]*/, '').trim();
      assert.equal(await status(), '(health: starting)');
      const first = await cairn(root, ['healthcheck', 'run', 'hc']);
      assert.deepEqual([first.code, first.stdout], [1, 'unhealthy\n']);
      assert.equal(await status(), '(health: starting)', 'one failure of two allowed');
      await cairn(root, ['healthcheck', 'run', 'hc']);
      assert.equal(await status(), '(unhealthy)');
      await cairnOk(root, ['exec', 'hc', 'touch', '/ok']);
      assert.equal((await cairnOk(root, ['healthcheck', 'run', 'hc'])).stdout, '');
      assert.equal(await status(), '(healthy)');
      const none = await cairn(root, ['healthcheck', 'run', (await cairnOk(root, ['create', 'bb:1', 'true'])).stdout.trim()]);
      assert.match(none.stderr, /has no defined healthcheck/);
    } finally {
      await cairn(root, ['rm', '-f', 'hc']);
      await fg.closed;
    }
  });

  it('run flags seen from inside: --init is PID 1, --read-only, --tmpfs, -h, -w, -u, --entrypoint, --network none, -m, --pids-limit and --shm-size', async () => {
    const init = await cairnOk(root, ['run', '--rm', '--init', 'bb:1', 'sh', '-c', 'cat /proc/1/comm']);
    assert.equal(init.stdout, 'docker-init\n');
    const ro = await cairn(root, ['run', '--rm', '--read-only', '--tmpfs', '/scratch:size=1m', 'bb:1', 'sh', '-c', 'touch /x 2>/dev/null || echo ro; touch /scratch/y && grep " /scratch " /proc/mounts | cut -d" " -f3']);
    assert.equal(ro.stdout, 'ro\ntmpfs\n');
    const who = await cairnOk(root, ['run', '--rm', '-h', 'box', '-w', '/tmp', '-u', 'nobody', '--network', 'none', 'bb:1', 'sh', '-c', 'hostname; pwd; id -u; ls /sys/class/net']);
    assert.equal(who.stdout, 'box\n/tmp\n65534\nlo\n');
    assert.equal((await cairnOk(root, ['run', '--rm', '--entrypoint', 'echo', 'bb:1', 'via', 'entrypoint'])).stdout, 'via entrypoint\n');
    const limits = await cairnOk(root, ['run', '--rm', '-m', '64m', '--pids-limit', '50', 'bb:1', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max']);
    assert.equal(limits.stdout, '67108864\n50\n');
    // /dev/shm is 64 MiB as Docker makes it, or --shm-size (df -k: total KiB)
    const shm = (args: string[]) => cairnOk(root, ['run', '--rm', ...args, 'bb:1', 'sh', '-c', "df -k /dev/shm | awk 'NR==2 {print $2}'"]);
    assert.equal((await shm([])).stdout, '65536\n');
    assert.equal((await shm(['--shm-size', '32m'])).stdout, '32768\n');
  });

  it('rmi -f of an image a stopped container uses: the image goes, the container still starts with its config', async () => {
    await cairnOk(root, ['import', '--change', 'ENV FROM_IMAGE=yes', '--change', 'WORKDIR /tmp', '-', 'forced:1'], { input: await busyboxRunTar() });
    await cairnOk(root, ['create', '--name', 'orphaned', 'forced:1', 'sh', '-c', 'echo $FROM_IMAGE $(pwd)']);
    const id = (await cairnOk(root, ['images', '-q', '--no-trunc', 'forced:1'])).stdout.trim();
    const r = await cairnOk(root, ['rmi', '-f', id]);
    assert.match(r.stdout, /^Untagged: forced:1\nDeleted: sha256:/);
    assert.equal((await cairn(root, ['image', 'inspect', id])).code, 1, 'the image is gone');
    assert.equal((await cairnOk(root, ['start', '-a', 'orphaned'])).stdout, 'yes /tmp\n');
    await cairnOk(root, ['rm', 'orphaned']);
  });

  it('bad input gets Docker\'s exit code and leaves nothing behind', async () => {
    await cairnOk(root, ['load'], { input: await makeDockerArchive([{ layers: [await makeTar([{ path: 'Windows/', type: 'dir' }])], repoTags: ['win:1'], config: { os: 'windows' } }]) });
    // The image's init layer (the runtime's mount points, shared by its containers; the
    // collector's once none uses it) exists after its first container: made here first.
    await cairnOk(root, ['run', '--rm', 'bb:1', 'true']);
    const before = traces();
    const cases: Array<[string[], number, RegExp]> = [
      [['run', '-v', 'a:b:c:d', 'bb:1', 'true'], 125, /invalid volume specification: 'a:b:c:d'/],
      [['run', '--rm', 'win:1', 'cmd'], 125, /image operating system "windows" cannot be used on this platform/],
      [['run', '--rm', 'bb:1', 'no-such-command'], 127, /no-such-command/],
      [['run', '--rm', 'bb:1', '/etc/passwd'], 126, /crun/],
      [['run', '-u', 'nosuchuser', 'bb:1', 'true'], 125, /unable to find user nosuchuser/],
      [['run', '-w', '/bin/busybox', 'bb:1', 'true'], 125, /Cannot mkdir: \/bin\/busybox is not a directory/],
      [['run', '--pull', 'never', 'no-such-image', 'true'], 125, /No such image/],
      [['run', '--name', 'bad name', 'bb:1', 'true'], 125, /Invalid container name/],
      [['run', '--restart', 'always', 'bb:1', 'true'], 125, /no daemon/],
      [['run', '--mount', `type=bind,src=${join(dir.path, 'no-such-dir')},dst=/x`, 'bb:1', 'true'], 125, /bind source path does not exist/],
      [['run', '--health-interval', '5x', 'bb:1', 'true'], 125, /unknown unit "x" in duration "5x"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cairn(root, args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(traces(), before, args.join(' '));
    }
  });

  it('after a reboot (another boot ID in the record), a container that was running shows as exited and is cleaned up', async () => {
    const id = (await cairnOk(root, ['run', '-d', 'bb:1', 'sleep', '60'])).stdout.trim();
    const pid = Number((await cairnOk(root, ['inspect', '-f', '{{.State.Pid}}', id])).stdout);
    assert.ok(pid > 0 && existsSync(`/proc/${pid}`));
    const db = new Database(join(root, 'metadata.db'));
    try {
      const row = db.prepare('SELECT state FROM containers WHERE id = ?').get(id) as { state: string };
      const state = JSON.parse(row.state) as { monitor: { bootId: string } };
      state.monitor.bootId = 'another-boot';
      db.prepare('UPDATE containers SET state = ? WHERE id = ?').run(JSON.stringify(state), id);
    } finally {
      db.close();
    }
    assert.match((await cairnOk(root, ['ps', '-a', '--format', '{{.Status}}', '-f', `id=${id}`])).stdout, /^Exited \(\d+\)/);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(root, 'containers', id)), false, 'unmounted');
    await cairnOk(root, ['rm', id]);
  });

  it('a name in use is refused without making anything', async () => {
    await cairnOk(root, ['create', '--name', 'taken', 'bb:1', 'true']);
    const before = traces();
    const r = await cairn(root, ['create', '--name', 'taken', 'bb:1', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The container name "\/taken" is already in use/);
    assert.deepEqual(traces(), before);
    await cairnOk(root, ['rm', 'taken']);
  });

  it('rmi refuses an image a container uses, as Docker does; -f untags it and the container still runs', async () => {
    await cairnOk(root, ['import', '-', 'other:1'], { input: await makeTar([{ path: 'x', content: 'x' }]) });
    await cairnOk(root, ['tag', 'bb:1', 'bb:used']);
    await cairnOk(root, ['create', '--name', 'user', 'bb:used', 'echo', 'still here']);
    // bb:1 and bb:used name one image: untagging one of two names is fine.
    await cairnOk(root, ['rmi', 'bb:used']);
    await cairnOk(root, ['tag', 'bb:1', 'bb:used']);
    const byId = (await cairnOk(root, ['images', '-q', 'bb:1'])).stdout.trim();
    const r = await cairn(root, ['rmi', byId]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /conflict: unable to delete .* \(must be forced\) - image is being used by stopped container/);
    await cairnOk(root, ['rmi', 'other:1']);
    assert.equal((await cairnOk(root, ['start', '-a', 'user'])).stdout, 'still here\n');
    await cairnOk(root, ['rm', 'user']);
    await cairnOk(root, ['rmi', 'bb:used']);
  });
});
