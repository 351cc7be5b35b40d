/**
 * Hiding the kernel's wait in the runtime's cgroup attach.
 *
 * Moving a process into a cgroup (the runtime writing its container's pid to `cgroup.procs`, for
 * `run`, `create` and `exec`) takes the kernel's global cgroup_threadgroup_rwsem for writing. It is
 * a per-CPU rwsem (rcu_sync): its first writer after a quiet spell waits for an RCU grace period
 * (10-25 ms on this 2-CPU VM, longer while its CPUs are busy; measured as crun's `run` taking
 * ~25 ms instead of ~10), and a writer within one grace period of the last writer's exit does
 * not wait (and extends that window by another grace period). A cairn command is seldom within
 * one grace period of the last container start, so every start paid the wait.
 *
 * `primeCgroupAttach` moves this process into the cgroup it is already in — a migration that
 * changes nothing — without waiting for it (a thread of the pool waits): the grace period runs
 * while cairn loads and prepares the container. It is called as early as a command that starts
 * a container can (bin/cairn.js, before the rest of cairn is loaded), and again just before the
 * runtime is started: that second write finds the window open (no wait) and keeps it open for
 * the runtime's attach, which otherwise missed it whenever the first write ended more than a
 * grace period before (measured: 8-15 ms of crun's time in ~40% of starts). It is only a head
 * start: when the write cannot be made (no cgroup file system, a cgroup this user may not
 * write) the runtime waits as before.
 */
import { closeSync, constants, openSync, readFileSync, write } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';

/**
 * The `cgroup.procs` file of this process's own cgroup in one hierarchy: cgroup v2's, or on v1
 * the first hierarchy mounted at /sys/fs/cgroup/<controllers> (the lock is one for all).
 * Undefined when /proc/self/cgroup names none.
 */
export function ownCgroupProcs(procSelfCgroup = readFileSync('/proc/self/cgroup', 'utf8')): string | undefined {
  let unified: string | undefined;
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (m === null) continue;
    const [, , controllers, path] = m as unknown as [string, string, string, string];
    if (controllers === '') {
      unified = join('/sys/fs/cgroup', path, 'cgroup.procs');
      continue;
    }
    // v1: named hierarchies (name=systemd) are mounted by their name, others by their controllers
    const dir = controllers.startsWith('name=') ? controllers.slice('name='.length) : controllers;
    return join('/sys/fs/cgroup', dir, path, 'cgroup.procs');
  }
  return unified;
}

/**
 * The writes in flight, kept in the global symbol registry: the command line's entry point
 * starts the first from a copy of this module of its own (dist/prime.cjs, loaded before the rest
 * of cairn), and the library's calls must see it.
 */
const PRIMED = Symbol.for('cairn.cgroup-prime');
interface Primed {
  /** This process's cgroup.procs file, read once (its cgroup does not change by these writes). */
  file: string;
  inFlight: number;
  /** Set once a write was refused: no more tries in this process. */
  refused: boolean;
  last: Promise<boolean>;
}
const slot = globalThis as { [PRIMED]?: Primed };

/** At most this many writes at once: each holds a thread of the pool (of 4) while it waits. */
const MAX_IN_FLIGHT = 2;

/**
 * Move this process into its own cgroup on a pool thread; callers do not wait for it. Each call
 * makes a write, unless two are already in flight (then it shares the last): a write made
 * while another waits ends with it, one made after it keeps the kernel's fast path open for one
 * more grace period. (This thread learns that a write ended only when it returns to the event
 * loop, which a command starting a container seldom does: so calls do not wait for that.) It
 * never fails: whatever stops the write (no cgroup file system, a cgroup this user may not
 * write, a kernel that refuses it), the runtime's attach waits for the lock as it did without
 * the head start — so a failure is dropped here, by design, and not tried again. The promise
 * (for tests) says whether the write was made.
 */
export function primeCgroupAttach(): Promise<boolean> {
  let primed = slot[PRIMED];
  if (primed === undefined) {
    let file: string | undefined;
    try {
      file = ownCgroupProcs();
    } catch (e) {
      if (errnoCode(e) === undefined) throw e; // a bug, not the machine
    }
    primed = { file: file ?? '', inFlight: 0, refused: file === undefined, last: Promise.resolve(false) };
    slot[PRIMED] = primed;
  }
  if (primed.refused || primed.inFlight >= MAX_IN_FLIGHT) return primed.last;
  const state = primed;
  state.inFlight++;
  state.last = startWrite(state.file).then((made) => {
    state.inFlight--;
    if (!made) state.refused = true;
    return made;
  });
  return state.last;
}

/**
 * Write this process's pid to `file` on a pool thread, the write issued now: the file is opened
 * here (opening takes no lock) and the one write is the pool's job. (fs.writeFile would issue
 * its write only after its open's callback, when this thread next returns to the event loop —
 * after the bundle is loaded and the container prepared, too late to hide anything.)
 */
function startWrite(file: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY);
  } catch (e) {
    if (errnoCode(e) === undefined) throw e;
    return Promise.resolve(false);
  }
  return new Promise((resolve) =>
    write(fd, `${process.pid}\n`, (e) => {
      closeSync(fd);
      resolve(e === null);
    }),
  );
}
