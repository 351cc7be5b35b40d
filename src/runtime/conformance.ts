/**
 * The OciRuntime conformance suite: one set of behaviours every runtime must show, run from
 * oci-runtime.test.ts against crun and runc alike on a real busybox root filesystem (a plain
 * directory: no store needed). Each test removes the containers it made in `finally`; the
 * suite checks at the end that the runtime's state directory holds none.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { NotFoundError } from '../errors.js';
import { secureSpec, writeBundle } from './bundle.js';
import { readHostFacts } from './host.js';
import { RuntimeFailure, type OciRuntime } from './oci-runtime.js';
import { fromProfile, loadSeccompProfile } from './seccomp.js';
import { buildSpec, type OciSpec, type RunOptions } from './spec.js';
import { resolveUser } from './user.js';

/** Makes the runtime under test, keeping its state in `stateDir`. */
export type RuntimeFactory = (stateDir: string) => OciRuntime;

/** A busybox root filesystem (Debian's busybox-static with every applet linked) in `dir`. */
export function busyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a !== '' && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'etc', 'not-executable'), 'data\n', { mode: 0o644 });
}

/** Every byte of a stream, as text. */
export async function readAll(stream: Readable | null): Promise<string> {
  if (stream === null) return '';
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** A container's spec for the busybox root filesystem at `rootfs` (real default seccomp profile). */
export function busyboxSpec(id: string, rootfs: string, options: Partial<RunOptions> & { args: string[] }): OciSpec {
  return secureSpec(buildSpec({
    id,
    image: { Cmd: ['sh'] },
    rootfs,
    options: { user: resolveUser(rootfs, undefined), hostname: id, network: 'none', ...options },
    host: readHostFacts(),
    kernel: release(),
    seccomp: fromProfile(loadSeccompProfile()),
  }).spec);
}

export function runtimeConformance(name: string, factory: RuntimeFactory): void {
  describe(`OCI runtime ${name}`, () => {
    let base: string;
    let rootfs: string;
    let rt: OciRuntime;
    let seq = 0;
    before(() => {
      base = mkdtempSync(join(tmpdir(), `cairn-rt-${name}-`));
      rootfs = join(base, 'rootfs');
      busyboxRootfs(rootfs);
      rt = factory(join(base, 'state'));
    });
    after(() => {
      try {
        const left = readdirSync(join(base, 'state', name)).filter((e) => !e.startsWith('.'));
        assert.deepEqual(left, [], 'no container left in the runtime state');
        assert.deepEqual(readdirSync(join(base, 'state', `${name}-log`)), [], 'no log or process file left');
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    });

    /** A fresh bundle and container ID; the container is force-deleted afterwards whatever happened. */
    async function withContainer(args: string[], fn: (id: string, bundle: string) => Promise<void>, options: Partial<RunOptions> = {}): Promise<void> {
      const id = `cairn-conf-${process.pid}-${++seq}`;
      const bundle = join(base, id);
      writeBundle(bundle, busyboxSpec(id, rootfs, { args, ...options }));
      try {
        await fn(id, bundle);
      } finally {
        if (rt.exists(id)) await rt.delete(id, { force: true });
        rmSync(bundle, { recursive: true, force: true });
      }
    }

    it('optimise changes nothing but the seccomp section and the annotations, and its spec runs', async () => {
      const id = `cairn-conf-${process.pid}-${++seq}`;
      const spec = busyboxSpec(id, rootfs, { args: ['sh', '-c', 'echo optimised'] });
      const optimised = await rt.optimise(spec);
      const rest = (s: OciSpec) => ({ ...s, annotations: undefined, linux: { ...s.linux, seccomp: undefined } });
      assert.deepEqual(rest(optimised), rest(spec));
      const bundle = join(base, id);
      writeBundle(bundle, optimised);
      try {
        const p = rt.run(id, bundle, { stdio: 'pipe' });
        p.stdin?.end();
        const [out, code] = await Promise.all([readAll(p.stdout), p.wait(), readAll(p.stderr)]);
        assert.deepEqual([out, code], ['optimised\n', 0]);
      } finally {
        if (rt.exists(id)) await rt.delete(id, { force: true });
        rmSync(bundle, { recursive: true, force: true });
      }
    });

    it('runs a command in the foreground: its output and exit code', async () => {
      await withContainer(['sh', '-c', 'echo out; echo err >&2; exit 3'], async (id, bundle) => {
        const p = rt.run(id, bundle, { stdio: 'pipe' });
        p.stdin?.end();
        const [out, err, code] = await Promise.all([readAll(p.stdout), readAll(p.stderr), p.wait()]);
        assert.equal(out, 'out\n');
        assert.equal(err, 'err\n');
        assert.equal(code, 3);
        assert.equal(rt.exists(id), false, 'run removes the container');
      });
    });

    it("maps a runtime failure to Docker's exit codes: 127 not found, 126 not executable, 125 otherwise", async () => {
      const cases: Array<[string[], number]> = [[['no-such-command'], 127], [['/no/such/path'], 127], [['/etc/not-executable'], 126], [['/etc'], 126]];
      for (const [args, want] of cases) {
        await withContainer(args, async (id, bundle) => {
          const p = rt.run(id, bundle, { stdio: 'pipe' });
          p.stdin?.end();
          void readAll(p.stdout);
          void readAll(p.stderr);
          await assert.rejects(p.wait(), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === want && !e.message.includes('\n') && e.message.startsWith(`${name} run: `), args[0]);
        });
      }
      await assert.rejects(rt.kill('cairn-never-made', 'SIGKILL'), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === 125);
    });

    it('creates, starts, reports state, kills and deletes a container', async () => {
      await withContainer(['sh', '-c', 'echo started; exec sleep 1000'], async (id, bundle) => {
        const pidFile = join(base, `${id}.pid`);
        const io = await rt.create(id, bundle, { stdio: 'pipe', pidFile });
        io.stdin?.end();
        const created = await rt.state(id);
        assert.equal(created.status, 'created');
        assert.ok(created.pid > 0);
        assert.equal(created.bundle, bundle);
        await rt.start(id);
        const out = io.stdout!;
        // The first line shows the process ran; then it sleeps.
        const first = await new Promise<string>((resolve) => out.once('data', (d: Buffer) => resolve(d.toString())));
        assert.equal(first, 'started\n');
        assert.equal((await rt.state(id)).status, 'running');
        await rt.kill(id, 'SIGKILL');
        // The streams close when the container's process is gone.
        await readAll(out);
        await readAll(io.stderr);
        for (let i = 0; i < 1000 && (await rt.state(id)).status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal((await rt.state(id)).status, 'stopped');
        await rt.delete(id);
        assert.equal(rt.exists(id), false);
        await assert.rejects(rt.state(id), NotFoundError);
        rmSync(pidFile, { force: true });
      });
    });

    it('execs a process in a running container, with its own exit code, and 127 for a missing command', async () => {
      await withContainer(['sleep', '1000'], async (id, bundle) => {
        await rt.create(id, bundle);
        await rt.start(id);
        const spec = busyboxSpec(id, rootfs, { args: ['sh', '-c', 'echo $((40 + 2)) $(hostname); exit 5'] });
        const p = rt.exec(id, spec.process, { stdio: 'pipe' });
        p.stdin?.end();
        const [out, code] = await Promise.all([readAll(p.stdout), p.wait(), readAll(p.stderr)]);
        assert.equal(out, `42 ${id}\n`);
        assert.equal(code, 5);
        const missing = rt.exec(id, { ...spec.process, args: ['no-such-command'] }, { stdio: 'pipe' });
        missing.stdin?.end();
        void readAll(missing.stdout);
        void readAll(missing.stderr);
        await assert.rejects(missing.wait(), (e: unknown) => e instanceof RuntimeFailure && e.exitCode === 127);
        await rt.delete(id, { force: true });
        assert.equal(rt.exists(id), false);
      });
    });

    it('forwards a signal to the foreground container', async () => {
      await withContainer(['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done'], async (id, bundle) => {
        const p = rt.run(id, bundle, { stdio: 'pipe' });
        p.stdin?.end();
        await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
        p.signal('SIGTERM');
        void readAll(p.stdout);
        void readAll(p.stderr);
        assert.equal(await p.wait(), 7);
      });
    });

    it('reports 128+N for a foreground container killed by signal N', async () => {
      await withContainer(['sh', '-c', 'echo ready; exec sleep 1000'], async (id, bundle) => {
        const p = rt.run(id, bundle, { stdio: 'pipe' });
        p.stdin?.end();
        await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
        assert.equal((await rt.state(id)).status, 'running');
        await rt.kill(id, 'SIGKILL');
        void readAll(p.stdout);
        void readAll(p.stderr);
        assert.equal(await p.wait(), 137);
      });
    });

    it('runs as the resolved user and sees only loopback with its own network', async () => {
      await withContainer(['sh', '-c', 'id -u; id -g; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "'], async (id, bundle) => {
        const p = rt.run(id, bundle, { stdio: 'pipe' });
        p.stdin?.end();
        const [out, code] = await Promise.all([readAll(p.stdout), p.wait(), readAll(p.stderr)]);
        assert.equal(code, 0);
        assert.equal(out, '65534\n65534\nlo\n');
      }, { user: resolveUser(rootfs, 'nobody') });
    });
  });
}
