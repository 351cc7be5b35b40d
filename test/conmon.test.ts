/**
 * Containers held by conmon, end to end as root on real conmon, crun and kernel overlayfs: a
 * busybox image in a temporary store (test/containers.ts), a writable layer and a bundle per
 * container, created by createWithConmon and started by the OciRuntime. Shown: output in the
 * log file read back by logfile.ts (streams apart, pieces joined, tail, since/until, -t, follow
 * ending with the container); exit codes from conmon's exit file (0, 3, 137 after SIGKILL);
 * conmon outliving the process that started it; a killed conmon noticed; the exit command run
 * (and not run when create failed); a missing command as 127 leaving no conmon; attach to a
 * terminal (echo, resize seen by `stty size`, detach keys, a bundle path longer than a socket
 * address), to a pipe (`cat`), and from a real terminal (script(1)'s pty: raw mode, its size);
 * runc as well as crun. Every container, conmon, mount and directory is removed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { ConmonAttach, attachStdio, resizeTerminal } from '../src/container/attach.js';
import { conmonPidPath, createWithConmon, exitFilePath, readExit, waitForExit, type ConmonOptions, type ConmonStarted } from '../src/container/conmon.js';
import { readLog, writeLogLines, type LogLine } from '../src/container/logfile.js';
import { parseLogTime } from '../src/container/logtime.js';
import { NotFoundError } from '../src/errors.js';
import { processRunning, processStartTime } from '../src/process.js';
import { CrunRuntime, RuncRuntime, RuntimeFailure } from '../src/runtime/oci-runtime.js';
import type { RunOptions } from '../src/runtime/spec.js';
import { openContainerFixture, type ContainerFixture, type ContainerLayer } from './containers.js';
import { REPO } from './helpers.js';

interface Ctr {
  id: string;
  bundle: string;
  persistDir: string;
  exitDir: string;
  logPath: string;
  layer: ContainerLayer;
  rt: CrunRuntime | RuncRuntime;
  started?: ConmonStarted;
}

/** Until `check` holds (polled), or fail after `ms`. */
async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Live (not zombie) conmon processes whose command line mentions `dir`. */
function conmonsUnder(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch (e) {
      // The process went away while we looked.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') continue;
      throw e;
    }
    if (argv[0]?.endsWith('conmon') && argv.some((a) => a.includes(dir)) && processRunning(Number(name))) found.push(Number(name));
  }
  return found;
}

async function collect(lines: AsyncIterable<LogLine>): Promise<Array<[string, string, boolean]>> {
  const out: Array<[string, string, boolean]> = [];
  for await (const l of lines) out.push([l.stream, l.line.toString(), l.partial]);
  return out;
}

describe('containers under conmon (crun)', () => {
  let fx: ContainerFixture;
  let rt: CrunRuntime;
  let runc: RuncRuntime;
  let seq = 0;
  const live = new Set<Ctr>();

  before(async () => {
    fx = await openContainerFixture('cairn-conmon-');
    rt = new CrunRuntime(join(fx.dir, 'state'));
    runc = new RuncRuntime(join(fx.dir, 'state'));
  });

  /** Remove the runtime's container, conmon, the layer. */
  async function remove(c: Ctr): Promise<void> {
    live.delete(c);
    try {
      if (c.rt.exists(c.id)) await c.rt.delete(c.id, { force: true });
      const pidText = existsSync(conmonPidPath(c.persistDir)) ? readFileSync(conmonPidPath(c.persistDir), 'utf8').trim() : '';
      const pid = c.started?.conmonPid ?? (pidText === '' ? undefined : Number(pidText));
      if (pid !== undefined) {
        const start = c.started?.conmonStartTime;
        // With its container gone conmon writes the exit file, runs the exit command and exits.
        const end = Date.now() + 5_000;
        while (processRunning(pid, start) && Date.now() < end) await sleep(20);
        if (processRunning(pid, start)) process.kill(pid, 'SIGKILL');
        await until('conmon to exit', () => !processRunning(pid, start));
      }
    } finally {
      await c.layer.remove();
    }
  }

  afterEach(async () => {
    for (const c of [...live]) await remove(c);
  });

  after(async () => {
    try {
      assert.deepEqual(conmonsUnder(fx.dir), [], 'no conmon left');
      for (const r of [rt, runc]) {
        assert.deepEqual(existsSync(r.root) ? readdirSync(r.root).filter((e) => !e.startsWith('.')) : [], [], `no container left in ${r.name}`);
      }
    } finally {
      await fx.close();
    }
  });

  /** A container's layer and bundle (not created yet). */
  async function prepare(name: string, args: string[], spec: Partial<RunOptions> = {}, bundleDir?: string, runtime: CrunRuntime | RuncRuntime = rt): Promise<Ctr> {
    const id = `cm-${process.pid}-${++seq}-${name}`;
    const layer = await fx.layer(id);
    const c: Ctr = {
      id,
      bundle: join(bundleDir ?? join(fx.dir, 'bundles'), id),
      persistDir: join(fx.dir, 'persist', id),
      exitDir: join(fx.dir, 'exits'),
      logPath: join(fx.dir, 'logs', `${id}.log`),
      layer,
      rt: runtime,
    };
    live.add(c);
    fx.bundle(c.bundle, id, layer.rootfs, { args, ...spec });
    return c;
  }

  function options(c: Ctr, extra: Partial<ConmonOptions> = {}): ConmonOptions {
    return {
      id: c.id,
      bundle: c.bundle,
      runtime: { name: c.rt.name, binary: c.rt.name, root: c.rt.root },
      logPath: c.logPath,
      exitDir: c.exitDir,
      persistDir: c.persistDir,
      ...extra,
    };
  }

  /** Create under conmon (not started). */
  async function create(name: string, args: string[], extra: Partial<ConmonOptions> = {}, spec: Partial<RunOptions> = {}, bundleDir?: string, runtime: CrunRuntime | RuncRuntime = rt): Promise<Ctr> {
    const c = await prepare(name, args, { ...(extra.tty ? { tty: true } : {}), ...spec }, bundleDir, runtime);
    c.started = await createWithConmon(options(c, extra));
    return c;
  }

  /** Create, start, wait for the exit file. */
  async function runToExit(name: string, args: string[], extra: Partial<ConmonOptions> = {}, runtime: CrunRuntime | RuncRuntime = rt): Promise<{ c: Ctr; code: number }> {
    const c = await create(name, args, extra, {}, undefined, runtime);
    await c.rt.start(c.id);
    const exit = await waitForExit(c.persistDir, c.started!);
    assert.ok(exit !== undefined, 'conmon wrote the exit file');
    return { c, code: exit.exitCode };
  }

  it('a detached container: the log keeps stdout and stderr apart, joins pieces of a line, and ends unterminated output as partial', async () => {
    const script = 'echo out1; echo err1 >&2; printf par; sleep 0.2; printf "tial\\n"; sleep 0.1; echo err2 >&2; printf "no newline"';
    const before = BigInt(Date.now()) * 1_000_000n;
    const { c, code } = await runToExit('log', ['sh', '-c', script]);
    const after = BigInt(Date.now()) * 1_000_000n;
    assert.equal(code, 0);
    const raw = readFileSync(c.logPath, 'utf8');
    assert.match(raw, /^\S+ stdout P par\n/m, 'conmon wrote the first piece as a P record');
    const lines = await collect(readLog(c.logPath));
    assert.deepEqual(lines.filter(([s]) => s === 'stdout'), [['stdout', 'out1', false], ['stdout', 'partial', false], ['stdout', 'no newline', true]]);
    assert.deepEqual(lines.filter(([s]) => s === 'stderr'), [['stderr', 'err1', false], ['stderr', 'err2', false]]);
    for await (const l of readLog(c.logPath)) {
      assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      assert.ok(l.unixNano >= before - 1_000_000_000n && l.unixNano <= after, `${l.time} lies within the run`);
      assert.equal(BigInt(l.date.getTime()), l.unixNano / 1_000_000n);
    }
    // As docker logs prints them: the streams to their own outputs, -t in front.
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    out.on('data', (d: Buffer) => chunks.push(d));
    err.on('data', (d: Buffer) => errChunks.push(d));
    await writeLogLines(readLog(c.logPath), { stdout: out, stderr: err }, { timestamps: true });
    assert.match(Buffer.concat(chunks).toString(), /^\S+Z out1\n\S+Z partial\n\S+Z no newline$/);
    assert.match(Buffer.concat(errChunks).toString(), /^\S+Z err1\n\S+Z err2\n$/);
  });

  it('--tail, --since and --until select lines of the log', async () => {
    const script = 'for i in 1 2 3 4 5; do echo line$i; sleep 0.05; echo err$i >&2; sleep 0.05; done';
    const { c, code } = await runToExit('select', ['sh', '-c', script]);
    assert.equal(code, 0);
    const all: LogLine[] = [];
    for await (const l of readLog(c.logPath)) all.push(l);
    const text = (ls: readonly LogLine[]) => ls.map((l) => `${l.stream}:${l.line.toString()}`);
    assert.deepEqual(text(all), [1, 2, 3, 4, 5].flatMap((i) => [`stdout:line${i}`, `stderr:err${i}`]));
    const got = async (o: Parameters<typeof readLog>[1]) => {
      const ls: LogLine[] = [];
      for await (const l of readLog(c.logPath, o)) ls.push(l);
      return text(ls);
    };
    assert.deepEqual(await got({ tail: 3 }), ['stderr:err4', 'stdout:line5', 'stderr:err5']);
    assert.deepEqual(await got({ tail: 0 }), []);
    assert.deepEqual(await got({ tail: 100 }), text(all));
    const mid = all[4]!;
    assert.deepEqual(await got({ since: mid.unixNano }), text(all.slice(4)));
    assert.deepEqual(await got({ until: mid.unixNano }), text(all.slice(0, 5)));
    // The tail is taken first, then the times (as Docker does).
    assert.deepEqual(await got({ tail: 4, since: all[7]!.unixNano }), text(all.slice(7)));
    assert.deepEqual(await got({ tail: 4, until: mid.unixNano }), []);
    // Docker's --since accepts the time -t printed, and a duration back from now.
    assert.equal(parseLogTime(mid.time, new Date()), mid.unixNano);
    assert.deepEqual(await got({ since: parseLogTime('10m', new Date()) }), text(all));
    assert.deepEqual(await got({ since: parseLogTime('10m', new Date(Date.now() + 3_600_000)) }), []);
  });

  it('--follow reads lines as they are written and ends when the container has exited', async () => {
    const c = await create('follow', ['sh', '-c', 'for i in 1 2 3 4 5; do echo tick$i; sleep 0.1; done; echo gone >&2']);
    const stopped = () => readExit(c.persistDir) !== undefined;
    const seen: Array<[string, number]> = [];
    const t0 = Date.now();
    const reading = (async () => {
      for await (const l of readLog(c.logPath, { follow: true, stopped, pollMs: 20 })) seen.push([l.line.toString(), Date.now() - t0]);
    })();
    await rt.start(c.id);
    await reading;
    assert.deepEqual(seen.map(([t]) => t), ['tick1', 'tick2', 'tick3', 'tick4', 'tick5', 'gone']);
    assert.ok(seen[4]![1] - seen[0]![1] >= 300, 'lines arrived while the container ran, not all at the end');
    assert.ok(stopped(), 'the follow ended after the exit file appeared');
  });

  it("the exit code is conmon's exit file: 0, 3, and 137 for a container killed with SIGKILL", async () => {
    assert.equal((await runToExit('exit0', ['true'])).code, 0);
    const three = await runToExit('exit3', ['sh', '-c', 'exit 3']);
    assert.equal(three.code, 3);
    assert.equal(readFileSync(exitFilePath(three.c.exitDir, three.c.id), 'utf8'), '3', 'also in the exit directory, as decimal text');
    const c = await create('kill', ['sleep', '30']);
    await rt.start(c.id);
    await rt.kill(c.id, 'SIGKILL');
    const exit = await waitForExit(c.persistDir, c.started!);
    assert.equal(exit?.exitCode, 137);
    assert.equal(exit?.oomKilled, false);
  });

  it('conmon outlives the process that started it; the container is started and read by another', async () => {
    const c = await prepare('orphan', ['sh', '-c', 'sleep 0.3; echo done']);
    const script = join(fx.dir, 'start-under-conmon.mjs');
    writeFileSync(script, [
      `import { createWithConmon } from ${JSON.stringify(join(REPO, 'dist', 'src', 'container', 'conmon.js'))};`,
      'const r = await createWithConmon(JSON.parse(process.argv[2]));',
      'process.stdout.write(JSON.stringify(r));',
    ].join('\n'));
    const t0 = Date.now();
    const child = spawnSync(process.execPath, [script, JSON.stringify(options(c))], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.ok(Date.now() - t0 < 10_000, 'the starter exited at once: it holds nothing of conmon');
    c.started = JSON.parse(child.stdout) as ConmonStarted;
    const { conmonPid, conmonStartTime } = c.started;
    assert.ok(processRunning(conmonPid, conmonStartTime), 'conmon runs on after its starter exited');
    const ppid = Number(readFileSync(`/proc/${conmonPid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    assert.notEqual(ppid, process.pid);
    assert.equal((await rt.state(c.id)).status, 'created');
    await rt.start(c.id);
    const exit = await waitForExit(c.persistDir, c.started);
    assert.equal(exit?.exitCode, 0);
    assert.deepEqual(await collect(readLog(c.logPath)), [['stdout', 'done', false]]);
    await until('conmon to exit after its container', () => !processRunning(conmonPid, conmonStartTime));
  });

  it('a conmon killed with SIGKILL is seen as gone; pid reuse is told apart by start time', async () => {
    const c = await create('killed', ['sleep', '30']);
    await rt.start(c.id);
    const { conmonPid, conmonStartTime } = c.started!;
    assert.ok(processRunning(conmonPid, conmonStartTime));
    process.kill(conmonPid, 'SIGKILL');
    await until('processRunning to say no', () => !processRunning(conmonPid, conmonStartTime));
    assert.equal(await waitForExit(c.persistDir, c.started!), undefined, 'no exit file from a killed conmon');
    assert.equal((await rt.state(c.id)).status, 'running', 'its container runs on, unwatched');
    assert.equal(processRunning(process.pid), true);
    assert.equal(processRunning(process.pid, processStartTime(process.pid)), true);
    assert.equal(processRunning(process.pid, 1), false, 'another process with this pid');
    assert.equal(processRunning(0), false);
  });

  it('the exit command runs after the container exited, in the persist directory', async () => {
    const marker = join(fx.dir, 'exit-command-ran');
    const { c, code } = await runToExit('exitcmd', ['sh', '-c', 'exit 5'], {
      exitCommand: ['sh', '-c', `echo "$PWD \${_OCI_SYNCPIPE:-unset} $0" > ${marker}`, 'arg0'],
    });
    assert.equal(code, 5);
    await until('the exit command', () => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'));
    assert.equal(readFileSync(marker, 'utf8'), `${c.persistDir} unset arg0\n`);
  });

  it('a command that does not exist is 127 with the runtime\'s one-line message, and leaves no conmon, container or exit command behind', async () => {
    const marker = join(fx.dir, 'exit-command-after-failure');
    const c = await prepare('missing', ['no-such-command']);
    await assert.rejects(createWithConmon(options(c, { exitCommand: ['sh', '-c', `touch ${marker}`] })), (e: unknown) => {
      assert.ok(e instanceof RuntimeFailure, String(e));
      assert.equal(e.exitCode, 127);
      assert.match(e.message, /^crun create: .*no-such-command.*not found/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    const pid = Number(readFileSync(conmonPidPath(c.persistDir), 'utf8'));
    assert.equal(processRunning(pid), false, 'conmon is gone');
    assert.equal(rt.exists(c.id), false, 'crun holds nothing');
    assert.equal(existsSync(marker), false, 'the exit command did not run for a container that never ran');
    assert.deepEqual(conmonsUnder(c.persistDir), []);
    const d = await prepare('notexec', ['/etc/passwd']);
    await assert.rejects(createWithConmon(options(d)), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === 126);
  });

  it('attach to a terminal: input is echoed, a resize is seen by stty size, even with a bundle path longer than a socket address', async () => {
    const deep = join(fx.dir, 'deep', 'd'.repeat(120));
    mkdirSync(deep, { recursive: true });
    const c = await create('tty', ['sh'], { tty: true }, {}, deep);
    assert.ok(join(c.bundle, 'attach').length > 108);
    const a = ConmonAttach.connect(c.bundle);
    let out = '';
    a.stdout.on('data', (d: Buffer) => (out += d.toString()));
    a.stderr.resume();
    resizeTerminal(c.bundle, 33, 111);
    await rt.start(c.id);
    a.stdin.write('stty size; exit 4\n');
    await a.closed;
    assert.match(out, /stty size; exit 4/, 'the terminal echoed the input');
    assert.match(out, /\r\n33 111\r\n/);
    assert.equal((await waitForExit(c.persistDir, c.started!))?.exitCode, 4);
    const log = await collect(readLog(c.logPath));
    assert.ok(log.some(([s, l]) => s === 'stdout' && l === '33 111\r'), 'the log holds the terminal output too');
  });

  it('attach to a pipe: stdin reaches cat, its output comes back, the end of input ends it', async () => {
    const c = await create('cat', ['sh', '-c', 'cat; echo bye >&2'], { interactive: true });
    const a = ConmonAttach.connect(c.bundle);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    a.stdout.on('data', (d: Buffer) => out.push(d));
    a.stderr.on('data', (d: Buffer) => err.push(d));
    await rt.start(c.id);
    const big = Buffer.alloc(100_000, 'x');
    a.stdin.write('hello\n');
    a.stdin.write(big);
    a.stdin.end('\nworld\n');
    await a.closed;
    assert.equal(Buffer.concat(out).toString(), `hello\n${big.toString()}\nworld\n`);
    assert.equal(Buffer.concat(err).toString(), 'bye\n');
    assert.equal((await waitForExit(c.persistDir, c.started!))?.exitCode, 0);
    assert.throws(() => ConmonAttach.connect(c.bundle), NotFoundError, 'no socket once conmon is gone');
  });

  it("attachStdio: the caller's streams joined to the container; ctrl-p ctrl-q detaches and the container runs on", async () => {
    const p = await create('stdio', ['sh', '-c', 'cat; echo bye >&2'], { interactive: true });
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let o = '';
    let e = '';
    stdout.on('data', (d: Buffer) => (o += d.toString()));
    stderr.on('data', (d: Buffer) => (e += d.toString()));
    stdin.end('piped\n');
    const r = await attachStdio(p.bundle, { stdin, stdout, stderr, tty: false, afterConnect: () => rt.start(p.id) });
    assert.deepEqual(r, { detached: false });
    assert.equal(o, 'piped\n');
    assert.equal(e, 'bye\n');
    assert.equal((await waitForExit(p.persistDir, p.started!))?.exitCode, 0);

    const t = await create('detach', ['sh'], { tty: true });
    const tin = new PassThrough();
    const tout = new PassThrough();
    let text = '';
    tout.on('data', (d: Buffer) => (text += d.toString()));
    const attached = attachStdio(t.bundle, { stdin: tin, stdout: tout, stderr: new PassThrough(), tty: true, afterConnect: () => rt.start(t.id) });
    tin.write('echo hi-there\n');
    await until('the shell to answer', () => /\r\nhi-there\r\n/.test(text));
    tin.write('\x10');
    tin.write('\x11');
    assert.deepEqual(await attached, { detached: true });
    assert.equal((await rt.state(t.id)).status, 'running', 'detaching leaves the container running');
    // Attach again: the terminal is still there.
    const again = ConmonAttach.connect(t.bundle);
    again.stdout.resume();
    again.stderr.resume();
    again.stdin.write('exit 7\n');
    await again.closed;
    assert.equal((await waitForExit(t.persistDir, t.started!))?.exitCode, 7);
  });

  it('runc under conmon: the exit code, a missing command as 127, a terminal attached', async () => {
    const { c, code } = await runToExit('runc3', ['sh', '-c', 'echo via-runc; exit 3'], {}, runc);
    assert.equal(code, 3);
    assert.deepEqual(await collect(readLog(c.logPath)), [['stdout', 'via-runc', false]]);
    const m = await prepare('runc-missing', ['no-such-command'], {}, undefined, runc);
    await assert.rejects(createWithConmon(options(m)), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === 127 && /^runc create: .*no-such-command/.test(e.message) && !e.message.includes('\n'));
    assert.equal(runc.exists(m.id), false);
    assert.equal(processRunning(Number(readFileSync(conmonPidPath(m.persistDir), 'utf8'))), false);
    const t = await create('runc-tty', ['sh'], { tty: true }, {}, undefined, runc);
    const a = ConmonAttach.connect(t.bundle);
    let out = '';
    a.stdout.on('data', (d: Buffer) => (out += d.toString()));
    a.stderr.resume();
    resizeTerminal(t.bundle, 21, 77);
    await runc.start(t.id);
    a.stdin.write('stty size; exit 2\n');
    await a.closed;
    assert.match(out, /\r\n21 77\r\n/);
    assert.equal((await waitForExit(t.persistDir, t.started!))?.exitCode, 2);
  });

  it("attachStdio on a real terminal (script(1)'s pty): raw mode, the terminal's size given to the container, ctrl-p ctrl-q typed", async () => {
    const c = await create('realtty', ['sh'], { tty: true });
    await rt.start(c.id);
    const attachedMarker = join(fx.dir, 'realtty-attached');
    const resultFile = join(fx.dir, 'realtty-result');
    const helper = join(fx.dir, 'attach-stdio.mjs');
    writeFileSync(helper, [
      `import { writeFileSync } from 'node:fs';`,
      `import { attachStdio } from ${JSON.stringify(join(REPO, 'dist', 'src', 'container', 'attach.js'))};`,
      `const r = await attachStdio(process.argv[2], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, tty: true,`,
      `  afterConnect: async () => writeFileSync(process.argv[3], '') });`,
      `writeFileSync(process.argv[4], JSON.stringify({ ...r, rawAfter: process.stdin.isRaw, tty: process.stdin.isTTY }));`,
      `process.exit(0);`,
    ].join('\n'));
    const command = `stty rows 40 cols 100; ${process.execPath} ${helper} ${c.bundle} ${attachedMarker} ${resultFile}`;
    const term = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    term.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const ended = new Promise<number | null>((resolve) => term.on('close', (code) => resolve(code)));
    try {
      await until('the helper to attach', () => existsSync(attachedMarker), 10_000);
      term.stdin.write('stty size; tty\n');
      await until('stty size in the container', () => /\r\n40 100\r/.test(screen), 10_000);
      term.stdin.write('\x10\x11');
      await until('the helper to detach', () => existsSync(resultFile), 10_000);
      assert.deepEqual(JSON.parse(readFileSync(resultFile, 'utf8')), { detached: true, rawAfter: false, tty: true });
      assert.match(screen, /\/dev\/pts\/0/, "the container's own terminal");
    } finally {
      term.stdin.end();
      const late = setTimeout(() => term.kill('SIGKILL'), 5_000);
      await ended;
      clearTimeout(late);
    }
    assert.equal((await rt.state(c.id)).status, 'running', 'detached, the container runs on');
    const again = ConmonAttach.connect(c.bundle);
    again.stdout.resume();
    again.stderr.resume();
    again.stdin.write('exit 6\n');
    await again.closed;
    assert.equal((await waitForExit(c.persistDir, c.started!))?.exitCode, 6);
  });
});
