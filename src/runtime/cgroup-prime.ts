/**
 * Hiding the kernel's wait in the runtime's cgroup attach.
 *
 * Moving a process into a cgroup (the runtime writing its container's pid to `cgroup.procs`, for
 * `run`, `create` and `exec`) takes the kernel's global cgroup_threadgroup_rwsem for writing. It is
 * a per-CPU rwsem: its first writer after a quiet spell waits for an RCU grace period (rcu_sync:
 * ~10-20 ms on a small VM, measured here as crun's `run` taking ~25 ms instead of ~10), and
 * writers within one grace period of the last one do not wait. A cairn command is seldom within
 * one grace period of the last container start, so every start paid the wait.
 *
 * `primeCgroupAttach` moves this process into the cgroup it is already in — a migration that
 * changes nothing — without waiting for it (a thread of the pool waits): the grace period runs
 * while cairn mounts the root filesystem and writes the bundle, and the runtime's attach, which
 * follows within the next one, takes the lock at once. It is only a head start: when the write
 * cannot be made (no cgroup file system, a cgroup this user may not write) the runtime waits as
 * before.
 */
import { readFileSync, writeFile } from 'node:fs';
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

let primed: Promise<boolean> | undefined;

/**
 * Start moving this process into its own cgroup (once per process); callers do not wait for it.
 * It never fails: whatever stops the write (no cgroup file system, a cgroup this user may not
 * write, a kernel that refuses it), the runtime's attach waits for the lock as it did without
 * the head start — so a failure is dropped here, by design. The promise (for tests) says
 * whether the write was made.
 */
export function primeCgroupAttach(): Promise<boolean> {
  if (primed !== undefined) return primed;
  let procs: string | undefined;
  try {
    procs = ownCgroupProcs();
  } catch (e) {
    if (errnoCode(e) === undefined) throw e; // a bug, not the machine
  }
  const file = procs;
  primed = file === undefined ? Promise.resolve(false) : new Promise((resolve) => writeFile(file, `${process.pid}\n`, (e) => resolve(e === null)));
  return primed;
}
