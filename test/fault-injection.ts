/**
 * The fault-injection harness (issue 15, point 4): the real command line, killed with SIGKILL at
 * random moments of load, import, save, pull, push, build, commit, run, rm, rmi, tag and the prunes
 * (image, container, builder, system) on small stores, each kill followed by the store's
 * verification:
 *
 *   - `system check` (the full one: every blob re-hashed, every layer re-emitted) finds nothing;
 *   - everything listed is whole: every image and container listed inspects, every volume listed
 *     inspects (the check has already verified each image's blobs and layers);
 *   - the interrupted command succeeds when run again — or, for one that is not idempotent
 *     (`run --name`, `rm`, `rmi`), its end state is right: a container the killed `run` made
 *     starts, `rm`/`rmi` again removes or says there is no such thing, and it is gone.
 *
 * Kills are spread over each operation's own duration, measured on an uninterrupted run of it
 * first: some right at the start, some near the end, the rest anywhere between. Everything is
 * drawn from seeded generators, one per lane (a store of its own, killed side by side with the
 * others): the seed replays a run (same operations, same delays; the moments the kills land at
 * vary with the machine's speed). A power cut may take back what the commands before the
 * killed one had finished (the store does not sync each commit): the lane re-makes the images
 * and the container its operations start from when they are gone.
 *
 * Power cuts: the store lives on an ext4 file system of its own, on a loop device. For a
 * fraction of the kills of operations that leave no process behind, the whole process group is
 * killed and the file system is shut down at once without writing anything more
 * (FS_IOC_SHUTDOWN with FS_GOING_DOWN_NOSYNC: neither dirty pages nor the journal are flushed,
 * as xfstests' godown does), then unmounted and mounted again: what the kernel had not written
 * to the device — every write not fsynced, every rename not committed by the journal — is gone,
 * as after a power cut. (The device's own volatile cache is not simulated: a write the loop
 * device was handed survives.) Where a loop device or the ioctl is not available, only kills run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRunTar, CAIRN, cairn, makeDockerArchive, makeTar, randomBytesSeeded, unmountUnder, type RunResult } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

export interface FaultOptions {
  /** The generator's seed (uint32). */
  seed: number;
  /** How many SIGKILLs to land (runs that finished before their kill do not count). */
  kills: number;
  /** A directory for the run (removed by the caller). */
  dir: string;
  /** Simulate power cuts where the machine allows it. */
  powerCuts?: boolean;
  /** The share of eligible kills followed by a power cut (default 0.15). */
  powerCutShare?: number;
  /** Progress and failures, one line each. */
  log?: (line: string) => void;
  /** Stop after this many failures (default 5). */
  maxFailures?: number;
  /** Stores killed side by side (default 1). */
  lanes?: number;
}

export interface FaultFailure {
  lane: number;
  iteration: number;
  op: string;
  delayMs: number;
  powerCut: boolean;
  what: string;
}

export interface FaultReport {
  seed: number;
  kills: number;
  powerCuts: number;
  /** Operations started (killed or not). */
  ops: number;
  /** Kills per operation. */
  perOp: Record<string, number>;
  failures: FaultFailure[];
  /** Why power cuts were not simulated, if they were not. */
  powerCutUnavailable?: string;
  seconds: number;
}

/** mulberry32: a small seeded generator, enough to replay a run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What one killable run of the command line ended as. */
interface Outcome extends RunResult {
  killed: boolean;
  ms: number;
}

/** A verification that failed: a line saying what. */
class Broken extends Error {}

/** The process ids in process group `pgid` (from /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') continue; // gone since the listing
      throw e;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) out.push(Number(name));
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SIGKILL every process of group `pgid`; one already gone is no error. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/**
 * Run `cairn --root ROOT ARGS` in a process group of its own; SIGKILL it after `killAfterMs`
 * (only it, or with `group` its whole group: a power cut). Waits until nothing of the group is
 * left (a runtime the killed cairn started finishes its short container by itself).
 */
async function runKillable(root: string, args: string[], killAfterMs: number | undefined, group: boolean): Promise<Outcome> {
  const started = Date.now();
  const child = spawn(process.execPath, [CAIRN, '--', '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const pid = child.pid!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  if (killAfterMs !== undefined) {
    timer = setTimeout(() => {
      try {
        process.kill(group ? -pid : pid, 'SIGKILL');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }, killAfterMs);
  }
  // a command that hangs is a failure the caller sees (killed: then its checks run), not a stuck suite
  const hang = setTimeout(() => killGroup(pid), 120_000);
  const { code, signal } = await exited;
  const ms = Date.now() - started;
  clearTimeout(timer);
  clearTimeout(hang);
  // what the killed process started (a runtime, its container) ends by itself; wait for it
  for (let i = 0; groupMembers(pid).length > 0; i++) {
    if (i === 1000) killGroup(pid);
    if (i > 1500) throw new Error(`processes of the killed cairn (group ${pid}) do not end: ${groupMembers(pid).join(' ')}`);
    await sleep(10);
  }
  await Promise.race([closed, sleep(2000)]);
  return { code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), killed: signal === 'SIGKILL', ms };
}

/** The store's file system: an ext4 image on a loop device, which can be cut off as by a power cut. */
interface PowerSupply {
  mountpoint: string;
  /** Shut the file system down without writing anything more, then mount it again. */
  cut(): void;
  /** Unmount it for good. */
  close(): void;
}

const FS_IOC_SHUTDOWN = 0x8004587d; // _IOR('X', 125, __u32)
const FS_GOING_DOWN_NOSYNC = 2;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
}

/** Every mount point at or below `path`, deepest first. */
function mountsUnder(path: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === path || m.startsWith(`${path}/`))
    .sort((a, b) => b.length - a.length);
}

/** An ext4 file system on a loop device mounted at dir/fs, or why there cannot be one here. */
function powerSupply(dir: string): PowerSupply | string {
  if (process.getuid?.() !== 0) return 'not root';
  const image = join(dir, 'fs.img');
  const mountpoint = join(dir, 'fs');
  mkdirSync(mountpoint, { recursive: true });
  const py = spawnSync('python3', ['-c', 'import fcntl, struct'], { encoding: 'utf8' });
  if (py.status !== 0) return 'python3 (for the shutdown ioctl) is not installed';
  try {
    sh('truncate', ['-s', '1G', image]);
    sh('mkfs.ext4', ['-q', '-F', image]);
    sh('mount', ['-o', 'loop', image, mountpoint]);
  } catch (e) {
    return `no ext4 file system on a loop device here: ${(e as Error).message}`;
  }
  const mount = (): void => sh('mount', ['-o', 'loop', image, mountpoint]);
  const unmountAll = (): void => {
    for (let i = 0; ; i++) {
      const left = mountsUnder(mountpoint);
      if (left.length === 0) return;
      const r = spawnSync('umount', [left[0]!], { encoding: 'utf8' });
      if (r.status !== 0 && i > 200) throw new Error(`umount ${left[0]}: ${r.stderr.trim()}`);
      if (r.status !== 0) spawnSync('sleep', ['0.05']);
    }
  };
  const shutdown = (): void => {
    const script = `import os, fcntl, struct\nfd = os.open(${JSON.stringify(mountpoint)}, os.O_RDONLY)\nfcntl.ioctl(fd, ${FS_IOC_SHUTDOWN}, struct.pack('I', ${FS_GOING_DOWN_NOSYNC}))\nos.close(fd)\n`;
    sh('python3', ['-c', script]);
  };
  // the ioctl must work here (a kernel or file system without it cannot cut power)
  try {
    writeFileSync(join(mountpoint, 'probe'), 'unsynced\n');
    shutdown();
    unmountAll();
    mount();
    if (existsSync(join(mountpoint, 'probe'))) {
      unmountAll();
      return 'the shutdown ioctl did not discard an unsynced write';
    }
  } catch (e) {
    try {
      unmountAll();
    } catch (e2) {
      return `the shutdown ioctl failed (${(e as Error).message}) and the file system does not unmount: ${(e2 as Error).message}`;
    }
    return `the shutdown ioctl failed: ${(e as Error).message}`;
  }
  return {
    mountpoint,
    cut() {
      shutdown();
      unmountAll();
      mount();
    },
    close: unmountAll,
  };
}

/** The world the operations act on, as listed after each kill. */
interface Listing {
  images: Map<string, string>; // repo:tag (or <none>:<none>#ID) -> ID
  imageIds: Set<string>;
  containers: Map<string, string>; // name -> ID
  volumes: string[];
}

interface Op {
  name: string;
  /** No process outlives it, so a power cut may follow its kill. */
  powerCut: boolean;
  /** Make what it needs exist (or not) and say its arguments; undefined: not now. */
  prepare(w: Listing): Promise<string[] | undefined>;
  /** After a kill (and the store's checks): run it again, or check its end state. */
  again(args: string[], w: Listing, cut: boolean): Promise<void>;
  /** What it changed in the listing once it succeeded (the next listing is taken only after a kill). */
  done(args: string[], w: Listing): void;
  /** What it removes is not known beforehand: list the store again after it. */
  relist?: true;
}

const NEW = 'new';

export async function runFaultInjection(opts: FaultOptions): Promise<FaultReport> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const inputs = join(opts.dir, 'inputs');
  mkdirSync(inputs, { recursive: true });
  const report: FaultReport = { seed: opts.seed, kills: 0, powerCuts: 0, ops: 0, perOp: {}, failures: [], seconds: 0 };
  let registry: Registry | undefined;
  let lastReported = 0;
  try {
    // inputs: tiny images (busybox and a few KB layers), made here
    const busybox = join(inputs, 'busybox.tar');
    writeFileSync(busybox, await busyboxRunTar());
    const loadArchive = join(inputs, 'load.tar');
    writeFileSync(
      loadArchive,
      await makeDockerArchive([
        {
          layers: [
            await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/load-a', content: randomBytesSeeded(6 * 1024, 11) }]),
            await makeTar([{ path: 'load-b', content: randomBytesSeeded(3 * 1024, 12) }]),
          ],
          repoTags: ['fi/load:1'],
        },
      ]),
    );
    const importTar = join(inputs, 'import.tar.gz');
    writeFileSync(importTar, await makeTar([{ path: 'imported/', type: 'dir' }, { path: 'imported/data', content: randomBytesSeeded(8 * 1024, 13) }], 'gzip'));
    const rmiTar = join(inputs, 'rmi.tar');
    writeFileSync(rmiTar, await makeTar([{ path: 'rmi', content: randomBytesSeeded(5 * 1024, 14) }]));
    const context = join(inputs, 'context');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM bb:1\nCOPY data /data\nRUN echo built > /built && cat /data > /copy\n');
    writeFileSync(join(context, 'data'), randomBytesSeeded(4 * 1024, 15));

    registry = await startRegistry(join(opts.dir, 'registry'));
    const reg = registry.host;
    // the image to pull: pushed from a store of its own
    const other = join(opts.dir, 'other');
    const otherRun = async (args: string[]): Promise<void> => {
      const r = await cairn(other, args);
      if (r.code !== 0) throw new Error(`setup: cairn ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    };
    await otherRun(['import', importTar, `${reg}/fi/pull:1`]);
    await otherRun(['push', `${reg}/fi/pull:1`]);
    const lanes = opts.lanes ?? 1;
    // every lane ends (and cleans up) before the inputs and the registry go
    const ended = await Promise.allSettled(Array.from({ length: lanes }, (_, i) => lane(i, { busybox, loadArchive, importTar, rmiTar, context, reg })));
    for (const e of ended) if (e.status === 'rejected') throw e.reason;
  } finally {
    await registry?.stop();
    report.seconds = Math.round((Date.now() - t0) / 1000);
  }
  return report;

  function lanes(): number {
    return opts.lanes ?? 1;
  }

  /**
   * One store, killed and checked until the run has its kills: lanes run side by side (the
   * machine's cores wait less), each with its own store, file system and generator (the seed's
   * lane-th stream), sharing the registry.
   */
  async function lane(index: number, files: { busybox: string; loadArchive: string; importTar: string; rmiTar: string; context: string; reg: string }): Promise<void> {
    const { busybox, loadArchive, importTar, rmiTar, context, reg } = files;
    const rng = seededRandom((opts.seed + Math.imul(index, 0x9e3779b9)) >>> 0);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const laneDir = join(opts.dir, `lane-${index}`);
    mkdirSync(laneDir, { recursive: true });
    const saved = join(laneDir, 'saved.tar');
    const supply = opts.powerCuts === false ? 'not asked for' : powerSupply(laneDir);
    const storeBase = typeof supply === 'string' ? join(laneDir, 'store') : supply.mountpoint;
    const root = join(storeBase, 'root');
    if (typeof supply === 'string') report.powerCutUnavailable = supply;
    const say = (line: string): void => log(lanes() > 1 ? `[lane ${index}] ${line}` : line);

    const ok = async (args: string[], input?: Buffer): Promise<RunResult> => {
      const r = await cairn(root, args, input === undefined ? {} : { input });
      if (r.code !== 0) throw new Broken(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r;
    };

    try {
      // the store's own fixtures
      await ok(['import', busybox, 'bb:1']);
      await ok(['load', '-q', '-i', loadArchive]);
      await ok(['run', '--name', 'fi-src', 'bb:1', 'sh', '-c', 'echo changed > /etc/motd; mkdir /made; echo new > /made/file']);

      let serial = 0;
      // one command lists images, containers and volumes (system df -v); every object listed is inspected after each kill
      const listing = async (): Promise<Listing> => {
        const df = JSON.parse((await ok(['system', 'df', '-v', '--format', 'json'])).stdout) as {
          Images: Array<{ ID: string; Repository: string; Tag: string }>;
          Containers: Array<{ ID: string; Names: string }>;
          Volumes: Array<{ Name: string }>;
        };
        const w: Listing = { images: new Map(), imageIds: new Set(), containers: new Map(), volumes: [] };
        for (const i of df.Images) {
          const ref = `${i.Repository}:${i.Tag}`;
          w.images.set(ref === '<none>:<none>' ? `${ref}#${i.ID}` : ref, i.ID);
          w.imageIds.add(i.ID);
        }
        for (const c of df.Containers) w.containers.set(c.Names, c.ID);
        w.volumes = df.Volumes.map((v) => v.Name);
        return w;
      };
      const gone = (r: RunResult, what: RegExp): boolean => r.code === 1 && what.test(r.stderr);

      const runContainers = (w: Listing) => [...w.containers.keys()].filter((n) => n.startsWith('fi-run-'));
      const ops: Op[] = [
        {
          name: 'load',
          powerCut: true,
          async prepare(w) {
            if (w.images.has('fi/load:1') && rng() < 0.6) await ok(['rmi', 'fi/load:1']).then(() => w.images.delete('fi/load:1'));
            return ['load', '-q', '-i', loadArchive];
          },
          async again(args) {
            await ok(args);
          },
          done(_args, w) { w.images.set('fi/load:1', NEW); },
        },
        {
          name: 'import',
          powerCut: true,
          async prepare(w) {
            if (w.images.has('fi/import:1') && rng() < 0.6) await ok(['rmi', 'fi/import:1']).then(() => w.images.delete('fi/import:1'));
            return ['import', importTar, 'fi/import:1'];
          },
          async again(args) {
            await ok(args);
          },
          done(_args, w) { w.images.set('fi/import:1', NEW); },
        },
        {
          name: 'save',
          powerCut: true,
          async prepare(w) {
            const names = ['bb:1', 'fi/load:1', 'fi/build:1', 'fi/commit:1'].filter((n) => w.images.has(n));
            return ['save', '-o', saved, ...names.filter(() => rng() < 0.6), 'bb:1'].filter((v, i, a) => a.indexOf(v) === i);
          },
          async again(args) {
            await ok(args);
          },
          done(_args, _w) {},
        },
        {
          name: 'pull',
          powerCut: true,
          async prepare(w) {
            if (w.images.has(`${reg}/fi/pull:1`) && rng() < 0.7) await ok(['rmi', `${reg}/fi/pull:1`]).then(() => w.images.delete(`${reg}/fi/pull:1`));
            return ['pull', '-q', `${reg}/fi/pull:1`];
          },
          async again(args) {
            await ok(args);
          },
          done(args, w) { w.images.set(args[2]!, NEW); },
        },
        {
          name: 'push',
          powerCut: true,
          async prepare(w) {
            // a new repository each time (a fresh upload of what the registry does not link there yet), from a random image
            const from = pick(['bb:1', 'fi/load:1', 'fi/build:1', 'fi/commit:1', 'fi/import:1'].filter((n) => w.images.has(n)));
            const target = `${reg}/fi/push-${serial++ % 50}:1`;
            await ok(['tag', from, target]);
            w.images.set(target, NEW);
            return ['push', '-q', target];
          },
          async again(args, w, cut) {
            // the tag made just before is not synced: a power cut may take it back (as any command's last commits)
            if (cut && !w.images.has(args[2]!)) await ok(['tag', 'bb:1', args[2]!]);
            await ok(args);
          },
          done(_args, _w) {},
        },
        {
          name: 'build',
          powerCut: false,
          async prepare() {
            return ['build', '-q', '--no-cache', '--network', 'none', '-t', 'fi/build:1', context];
          },
          async again(args) {
            await ok(args);
          },
          done(_args, w) { w.images.set('fi/build:1', NEW); },
        },
        {
          name: 'commit',
          powerCut: true,
          async prepare(w) {
            if (!w.containers.has('fi-src')) throw new Broken('the container fi-src that commit uses is gone');
            return ['commit', '-m', 'fault injection', 'fi-src', 'fi/commit:1'];
          },
          async again(args) {
            await ok(args);
          },
          done(_args, w) { w.images.set('fi/commit:1', NEW); },
        },
        {
          name: 'run',
          powerCut: false,
          async prepare(w) {
            if (runContainers(w).length >= 4) return undefined;
            return ['run', '--name', `fi-run-${serial++}`, '-v', '/data', 'bb:1', 'sh', '-c', 'echo hi > /data/x; cat /data/x'];
          },
          async again(args, w) {
            const name = args[2]!;
            // the container the killed run made, if it made one, starts; else the run works again
            if (w.containers.has(name)) {
              const r = await ok(['start', '-a', name]);
              if (r.stdout !== 'hi\n') throw new Broken(`start -a ${name} printed ${JSON.stringify(r.stdout)}`);
            } else {
              const r = await ok(args);
              if (r.stdout !== 'hi\n') throw new Broken(`${args.join(' ')} printed ${JSON.stringify(r.stdout)}`);
            }
          },
          done(args, w) { w.containers.set(args[2]!, NEW); },
        },
        {
          name: 'rm',
          powerCut: true,
          async prepare(w) {
            let names = runContainers(w);
            if (names.length === 0) {
              const name = `fi-run-${serial++}`;
              await ok(['create', '--name', name, '-v', '/data', 'bb:1', 'true']);
              w.containers.set(name, NEW);
              names = [name];
            }
            return ['rm', '-v', pick(names)];
          },
          async again(args) {
            const r = await cairn(root, args);
            if (r.code !== 0 && !gone(r, /^Error: No such container: /)) throw new Broken(`${args.join(' ')} again exited ${r.code}: ${r.stderr.trim()}`);
            const w = await listing();
            if (w.containers.has(args[2]!)) throw new Broken(`${args[2]} is still listed after rm`);
          },
          done(args, w) { w.containers.delete(args[2]!); },
        },
        {
          name: 'rmi',
          powerCut: true,
          async prepare(w) {
            if (!w.images.has('fi/rmi:1')) await ok(['import', rmiTar, 'fi/rmi:1']).then(() => w.images.set('fi/rmi:1', NEW));
            return ['rmi', 'fi/rmi:1'];
          },
          async again(args) {
            const r = await cairn(root, args);
            if (r.code !== 0 && !gone(r, /^Error: No such image: fi\/rmi:1/)) throw new Broken(`${args.join(' ')} again exited ${r.code}: ${r.stderr.trim()}`);
            const w = await listing();
            if (w.images.has('fi/rmi:1')) throw new Broken('fi/rmi:1 is still listed after rmi');
          },
          done(_args, w) { w.images.delete('fi/rmi:1'); },
        },
        {
          name: 'tag',
          powerCut: true,
          async prepare(w) {
            const from = pick(['bb:1', 'fi/load:1', 'fi/import:1'].filter((n) => w.images.has(n)));
            return ['tag', from, `fi/tag:${serial++ % 4}`];
          },
          async again(args) {
            await ok(args);
            const id = (await ok(['inspect', '-f', '{{.Id}}', args[2]!])).stdout.trim();
            const want = (await ok(['inspect', '-f', '{{.Id}}', args[1]!])).stdout.trim();
            if (id !== want) throw new Broken(`${args[2]} names ${id}, not ${args[1]}'s ${want}`);
          },
          done(args, w) { w.images.set(args[2]!, NEW); },
        },
        {
          name: 'prune',
          powerCut: true,
          relist: true,
          async prepare(w) {
            // what the prunes may remove: containers labelled for it (others are the fixtures),
            // dangling images (earlier builds and commits), the build cache
            if (rng() < 0.5) {
              const name = `fi-prune-${serial++}`;
              await ok(['create', '--name', name, '--label', 'fi=prune', '-v', '/data', 'bb:1', 'true']);
              w.containers.set(name, NEW);
            }
            return pick([
              ['image', 'prune', '-f'],
              ['container', 'prune', '-f', '--filter', 'label=fi=prune'],
              ['builder', 'prune', '-af'],
              ['system', 'prune', '-f', '--volumes', '--filter', 'label=fi=prune'],
            ]);
          },
          async again(args) {
            await ok(args);
          },
          done() {},
        },
      ];

      // The store's state before each operation: the images the operations start from must be there
      // (a power cut may take back what a command finished just before it: it had not synced).
      const ensureBase = async (w: Listing): Promise<void> => {
        if (!w.images.has('bb:1')) {
          await ok(['import', busybox, 'bb:1']);
          w.images.set('bb:1', NEW);
        }
        if (!w.images.has('fi/load:1')) {
          await ok(['load', '-q', '-i', loadArchive]);
          w.images.set('fi/load:1', NEW);
        }
        if (!w.containers.has('fi-src')) {
          await ok(['run', '--name', 'fi-src', 'bb:1', 'sh', '-c', 'echo changed > /etc/motd; mkdir /made; echo new > /made/file']);
          w.containers.set('fi-src', NEW);
        }
      };

      // each operation's typical duration, measured on a run that is not interrupted
      const typical = new Map<string, number>();
      let world = await listing();
      for (const op of ops) {
        const args = await op.prepare(world);
        if (args === undefined) continue;
        const r = await runKillable(root, args, undefined, false);
        if (r.code !== 0) throw new Error(`setup: cairn ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
        typical.set(op.name, r.ms);
        world = await listing();
      }
      say(`fault injection: seed ${opts.seed}, ${opts.kills} kills; typical durations (ms): ${[...typical].map(([n, ms]) => `${n} ${ms}`).join(', ')}; power cuts: ${typeof supply === 'string' ? `not simulated (${supply})` : 'simulated (ext4 on a loop device, FS_IOC_SHUTDOWN without flushing)'}`);

      const maxFailures = opts.maxFailures ?? 5;
      const share = opts.powerCutShare ?? 0.15;
      let iteration = 0;
      /** A listing after a failure: one that fails too is a failure of its own, and the lane stops there. */
    const relist = async (): Promise<Listing> => {
      try {
        return await listing();
      } catch (e) {
        if (!(e instanceof Broken)) throw e;
        report.failures.push({ lane: index, iteration, op: 'listing', delayMs: 0, powerCut: false, what: e.message });
        say(`FAILED: the store cannot be listed after a failure: ${e.message}`);
        stop = true;
        return world;
      }
    };
    let stop = false;
    /** The last few commands, for a failure's report. */
      const history: string[] = [];
      const ran = (line: string): void => {
        history.push(line);
        if (history.length > 4) history.shift();
      };
      while (!stop && report.kills < opts.kills && report.failures.length < maxFailures) {
        iteration++;
        if (iteration > opts.kills * 4 + 100) throw new Error(`only ${report.kills} of ${iteration - 1} runs were killed before they finished`);
        const op = pick(ops);
        const T = typical.get(op.name) ?? 300;
        const r = rng();
        // a tenth right at the start, a tenth around the end, the rest anywhere
        const delayMs = Math.round(r < 0.1 ? rng() * Math.min(60, T) : r < 0.2 ? T * (0.75 + rng() * 0.2) : rng() * T * 0.9);
        const cut = typeof supply !== 'string' && op.powerCut && rng() < share;
        const fail = (what: string): void => {
          report.failures.push({ lane: index, iteration, op: op.name, delayMs, powerCut: cut, what });
          say(`FAILED: iteration ${iteration} (seed ${opts.seed}): ${op.name} killed after ${delayMs} ms${cut ? ' with a power cut' : ''}: ${what}\n  before it: ${history.join('; ')}`);
        };
        let args: string[] | undefined;
        try {
          await ensureBase(world);
          args = await op.prepare(world);
        } catch (e) {
          if (!(e instanceof Broken)) throw e;
          fail(`before the kill: ${e.message}`);
          world = await relist();
          continue;
        }
        if (args === undefined) continue;
        report.ops++;
        const outcome = await runKillable(root, args, delayMs, cut);
        ran(`${iteration}: cairn ${args.join(' ')} ${outcome.killed ? `killed after ${delayMs} ms${cut ? ', power cut' : ''}` : `exited ${outcome.code}`}`);
        if (!outcome.killed) {
          // finished first: it must have worked (run's output checked by again() only after kills)
          const ms = typical.get(op.name) ?? outcome.ms;
          typical.set(op.name, Math.round(ms * 0.8 + outcome.ms * 0.2));
          if (outcome.code === 0 && op.relist === undefined) op.done(args, world);
          else if (outcome.code === 0) world = await listing();
          else {
            fail(`not killed, exited ${outcome.code}: ${outcome.stderr.trim()}`);
            world = await listing();
          }
          continue;
        }
        report.kills++;
        report.perOp[op.name] = (report.perOp[op.name] ?? 0) + 1;
        if (cut) {
          (supply as PowerSupply).cut();
          report.powerCuts++;
        }
        try {
          // The listing first: its start-up cleans what the kill left (a dead lease expired, its work
          // collected) before anything looks. Then the check and the inspections at once: they only read.
          world = await listing();
          const objects = [...world.imageIds, ...world.containers.values()];
          const volumes = world.volumes;
          const [check] = await Promise.all([
            cairn(root, ['system', 'check']),
            objects.length === 0
              ? undefined
              : ok(['inspect', ...objects]).then((r) => {
                  const n = (JSON.parse(r.stdout) as unknown[]).length;
                  if (n !== objects.length) throw new Broken(`inspect of ${objects.length} objects gave ${n}`);
                }),
            volumes.length === 0 ? undefined : ok(['volume', 'inspect', ...volumes]),
          ]);
          if (check.code !== 0 || check.stdout !== 'no problems found\n') {
            fail(`system check exited ${check.code}:\n${check.stdout}${check.stderr}`);
            const repair = await cairn(root, ['system', 'check', '--repair']);
            say(`  system check --repair exited ${repair.code}: ${repair.stdout.trim()}`);
            world = await listing();
          }
          // a power cut may take back what the commands before it had done (their commits are not synced)
          if (cut) await ensureBase(world);
          await op.again(args, world, cut);
          if (op.relist === undefined) op.done(args, world);
          else world = await listing();
        } catch (e) {
          if (!(e instanceof Broken)) throw e;
          fail(e.message);
          world = await relist();
        }
        if (report.kills % 50 === 0 && report.kills !== lastReported) log(`  ${report.kills} kills (${report.powerCuts} power cuts), ${report.ops} ops, ${Math.round((Date.now() - t0) / 1000)} s`);
        if (report.kills % 50 === 0) lastReported = report.kills;
      }
      // the store at the end: clean
      const last = await cairn(root, ['system', 'check']);
      if (last.code !== 0) report.failures.push({ lane: index, iteration, op: 'end', delayMs: 0, powerCut: false, what: `${lanes() > 1 ? `lane ${index}: ` : ''}system check at the end exited ${last.code}: ${last.stdout}` });
    } finally {
      const names = (await cairn(root, ['ps', '-a', '-q'])).stdout.split('\n').filter(Boolean);
      if (names.length > 0) await cairn(root, ['rm', '-f', '-v', ...names]);
      // the store's file system is unmounted deepest mount first; a plain directory's mounts lazily
      if (typeof supply !== 'string') supply.close();
      else unmountUnder(storeBase);
    }
  }
}
