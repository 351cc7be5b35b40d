/**
 * A container's life after `create`, with no daemon: every change of state is written to its
 * record by whichever process sees it, and any process can check what the record says against
 * the machine.
 *
 * - A started container has a monitor: the cairn process running it in the foreground, or a
 *   conmon for a detached one. `refresh` trusts a live status only while that monitor (same
 *   pid, same start time, same boot) is alive; when it is gone, the container has exited —
 *   with the code conmon wrote, else 255 (its end was not seen: a reboot, a killed monitor) —
 *   and is cleaned up: its runtime state deleted, its root filesystem unmounted, and removed
 *   if it was created with `--rm`.
 * - `stop` sends the stop signal, waits up to the timeout, then SIGKILL; `kill` signals; `wait`
 *   polls the record; `remove` takes a container apart in an order a kill at any point leaves
 *   resumable (status `removing` first, then unmount, runtime, snapshot, record, files).
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError } from '../errors.js';
import { readExit } from './conmon.js';
import { writeTx } from '../metadata/db.js';
import { beginCollection, endCollection, intendRemoval, removed } from '../metadata/records.js';
import { bootId, processRunning } from '../process.js';
import { removeTree } from '../rmtree.js';
import { ociRuntime, type OciRuntime } from '../runtime/oci-runtime.js';
import type { Store } from '../store/store.js';
import { diskUsage } from '../snapshot/index.js';
import { containerFiles, runtimeStateDir } from './files.js';
import { isLive, volumesOf, type ContainerRecord, type ContainerState } from './model.js';
import { removeVolume } from '../volume/index.js';
import { isMountPoint, releaseVolumes, unmountRootfs } from './prepare.js';
import { containersOfVolume, deleteContainer, findContainer, renameContainer, setState, setStateIf } from './records.js';

export function runtimeOf(store: Store, rec: ContainerRecord): OciRuntime {
  return ociRuntime(runtimeStateDir(store.root), rec.settings.runtime);
}

/** What conmon recorded when the container exited, if it did (a container run in the foreground has none). */
export function recordedExit(root: string, id: string): { exitCode: number; oomKilled: boolean } | undefined {
  const exit = readExit(containerFiles(root, id).persistDir);
  return exit === undefined || exit.exitCode < 0 ? undefined : exit;
}

/**
 * Delete the runtime's container (killing what is left of it). Another process may delete it
 * at the same moment (a foreground `run` whose container was killed): gone is fine.
 */
export async function deleteFromRuntime(rt: OciRuntime, id: string): Promise<void> {
  if (!rt.exists(id)) return;
  try {
    await rt.delete(id, { force: true });
  } catch (e) {
    if (rt.exists(id)) throw e;
  }
}

/** Whether the container's monitor is alive (a container without one is not running). */
export function monitorAlive(state: ContainerState): boolean {
  const m = state.monitor;
  if (m === undefined) return false;
  return m.bootId === bootId() && processRunning(m.pid, m.startTime);
}

/**
 * Record that a started container ended with `exitCode` and clean up after it: the runtime's
 * state, the mount of its root filesystem; with `--rm`, the container itself. Safe to call
 * again (several processes may see the end at once): only the first records it.
 */
export async function finishContainer(store: Store, id: string, exitCode: number, error = '', oomKilled = false): Promise<void> {
  const rec = findContainer(store.db, id);
  if (rec === undefined) return;
  await deleteFromRuntime(runtimeOf(store, rec), rec.id);
  unmountRootfs(store.root, rec.id);
  let release: string[] = [];
  const recorded = writeTx(store.db, () => {
    const now = findContainer(store.db, id);
    if (now === undefined || !isLive(now.state.status)) return false;
    const state: ContainerState = { ...now.state, status: 'exited', pid: 0, exitCode, error, oomKilled, finishedAt: new Date().toISOString() };
    delete state.monitor;
    // Volumes acquired in an earlier boot hold no mount and no count any more.
    if (state.volumes !== undefined && state.volumes.bootId === bootId()) release = state.volumes.names;
    delete state.volumes;
    setState(store.db, id, state);
    return true;
  });
  await releaseVolumes(store, release);
  if (recorded && autoRemoves(findContainer(store.db, id) ?? rec)) await removeContainer(store, id, { force: true, volumes: true });
}

/** Whether an exited container goes now (`--rm`): not while a foreground `run -t` holds it, nor during a restart. */
function autoRemoves(rec: ContainerRecord): boolean {
  return rec.settings.create.autoRemove && !attachedAlive(rec.state) && rec.state.restarting !== true;
}

/** Whether a foreground process attached to the container (run -t) is alive. */
function attachedAlive(state: ContainerState): boolean {
  return state.attachedBy !== undefined && processRunning(state.attachedBy.pid, state.attachedBy.startTime);
}

/** The container's record, brought up to date with the machine (see the module's comment). */
export async function refresh(store: Store, rec: ContainerRecord): Promise<ContainerRecord> {
  if (rec.state.status === 'exited' && autoRemoves(rec)) {
    // An attached foreground run that would have removed it is gone: remove it as --rm asks.
    await removeContainer(store, rec.id, { force: true, volumes: true });
    return rec;
  }
  return settle(store, rec);
}

/** A live record checked against its monitor: ended if the monitor is gone. */
async function settle(store: Store, rec: ContainerRecord): Promise<ContainerRecord> {
  if (!isLive(rec.state.status)) return rec;
  // conmon writes the exit code (atomically) before it runs its exit command, a whole cairn
  // process that records the same: a container whose exit file is there has ended, and `stop`,
  // `wait` and `ps` need not wait for that process to say so.
  const exit = recordedExit(store.root, rec.id);
  if (exit === undefined && monitorAlive(rec.state)) return rec;
  const code = exit?.exitCode ?? 255;
  await finishContainer(store, rec.id, code, exit === undefined ? 'the container ended without its monitor seeing it (a reboot, or the monitor was killed)' : '', exit?.oomKilled ?? false);
  return findContainer(store.db, rec.id) ?? { ...rec, state: { ...rec.state, status: 'exited', exitCode: code } };
}

/**
 * `container cleanup ID`, conmon's exit command: record the exit conmon wrote and clean up
 * (with `--rm`, remove the container). Nothing to do when another process got there first.
 */
export async function cleanupContainer(store: Store, id: string): Promise<void> {
  const rec = findContainer(store.db, id);
  if (rec === undefined || !isLive(rec.state.status)) return;
  const exit = recordedExit(store.root, rec.id);
  if (exit === undefined) {
    await refresh(store, rec);
    return;
  }
  await finishContainer(store, rec.id, exit.exitCode, '', exit.oomKilled);
}

/** Wait until the container is not live; its exit code. `timeoutMs`: give up then (undefined). */
export async function waitContainer(store: Store, id: string, timeoutMs?: number): Promise<ContainerRecord | undefined> {
  const until = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const rec = findContainer(store.db, id);
    if (rec === undefined) return undefined;
    const now = await refresh(store, rec);
    if (!isLive(now.state.status)) return now;
    if (Date.now() >= until) return now;
    await sleep(Math.min(delay, Math.max(1, until - Date.now())));
  }
}

/** Docker's stop signal of a container: `--stop-signal`, else the image's, else SIGTERM. */
export function stopSignalOf(rec: ContainerRecord, imageStopSignal: string | undefined): NodeJS.Signals {
  const name = rec.settings.create.stopSignal ?? imageStopSignal ?? 'SIGTERM';
  return (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
}

/**
 * Send `signal` to a running container's process (the caller says which container it failed
 * to kill, as Docker does); with SIGKILL, return once it has stopped, as Docker's kill does. A
 * paused one is thawed as Docker thaws it (`stopSignal`: the one the container was configured
 * with, if any).
 */
export async function killContainer(store: Store, rec: ContainerRecord, signal: NodeJS.Signals = 'SIGKILL', opts: { stopSignal?: NodeJS.Signals } = {}): Promise<void> {
  const now = await refresh(store, rec);
  if (!isLive(now.state.status)) throw new ConflictError(`Container ${rec.id} is not running`);
  const rt = runtimeOf(store, rec);
  await rt.kill(rec.id, signal, { all: signal === 'SIGKILL' });
  // Docker thaws a paused container for SIGKILL, for its stop signal, and for any signal when it has none
  if (now.state.status === 'paused' && (signal === 'SIGKILL' || opts.stopSignal === undefined || opts.stopSignal === signal)) {
    try {
      await rt.resume(rec.id);
    } catch (e) {
      // killed meanwhile (SIGKILL ends a frozen container too): nothing to thaw
      if (rt.exists(rec.id) && (await rt.state(rec.id)).status !== 'stopped') throw e;
    }
    writeTx(store.db, () => setStateIf(store.db, rec.id, 'paused', { ...now.state, status: 'running' }));
  }
  // Docker's kill with SIGKILL returns once the container has stopped (its state says so)
  if (signal === 'SIGKILL') await waitContainer(store, rec.id);
}

/** Stop: the stop signal, up to `timeoutSeconds` (default the container's, else 10), then SIGKILL. */
export async function stopContainer(store: Store, rec: ContainerRecord, signal: NodeJS.Signals, timeoutSeconds?: number): Promise<ContainerRecord> {
  let now = await refresh(store, rec);
  if (!isLive(now.state.status)) return now;
  const rt = runtimeOf(store, rec);
  const timeout = timeoutSeconds ?? rec.settings.create.stopTimeout ?? 10;
  if (now.state.status === 'paused') {
    await rt.kill(rec.id, 'SIGKILL', { all: true });
  } else if (timeout !== 0) {
    await signalIgnoringGone(rt, rec.id, signal);
    now = (await waitContainer(store, rec.id, timeout < 0 ? undefined : timeout * 1000)) ?? now;
    if (!isLive(now.state.status)) return now;
  }
  await signalIgnoringGone(rt, rec.id, 'SIGKILL');
  return (await waitContainer(store, rec.id)) ?? now;
}

/** A signal to a container that may have ended meanwhile (then there is nothing to signal). */
async function signalIgnoringGone(rt: OciRuntime, id: string, signal: NodeJS.Signals): Promise<void> {
  if (!rt.exists(id)) return;
  try {
    await rt.kill(id, signal, { all: signal === 'SIGKILL' });
  } catch (e) {
    // Only a container that is gone or stopped by now is fine; anything else is a failure.
    if (!rt.exists(id)) return;
    const state = await rt.state(id);
    if (state.status !== 'stopped') throw e;
  }
}

export interface RemoveContainerOptions {
  /** Kill a live container first. */
  force?: boolean;
  /** Remove its anonymous volumes too (`rm -v`, `--rm`), unless another container uses them. */
  volumes?: boolean;
  /** Measure the disk its writable layer and files gave back (RemovedContainer.reclaimed; `container prune`). */
  measure?: boolean;
}

/** What removing a container removed (with the anonymous volumes that went with it). */
export interface RemovedContainer {
  id: string;
  name: string;
  anonymousVolumes: string[];
  /** With `measure`: bytes of disk its writable snapshot and its directory held (measured before they went). */
  reclaimed?: number;
}

/**
 * `restart`, its first half: a live container marked as restarting (so that its end does not
 * remove it: `--rm`) and stopped as `stop` does. The caller starts it again and then calls
 * {@link endRestart}, whatever happened.
 */
export async function stopForRestart(store: Store, rec: ContainerRecord, signal: NodeJS.Signals, timeoutSeconds?: number): Promise<void> {
  const now = await refresh(store, rec);
  if (!isLive(now.state.status)) return;
  writeTx(store.db, () => {
    const cur = findContainer(store.db, rec.id);
    if (cur !== undefined) setState(store.db, rec.id, { ...cur.state, restarting: true });
  });
  await stopContainer(store, now, signal, timeoutSeconds);
}

/** `restart`, done: the mark goes; a `--rm` container that is not running (its start failed, or it ended already) goes as `--rm` asks. */
export async function endRestart(store: Store, id: string): Promise<void> {
  const rec = writeTx(store.db, () => {
    const cur = findContainer(store.db, id);
    if (cur === undefined || cur.state.restarting !== true) return cur;
    const state = { ...cur.state };
    delete state.restarting;
    setState(store.db, id, state);
    return { ...cur, state };
  });
  if (rec !== undefined) await refresh(store, rec);
}

/** `rm`: the container, its writable layer and files. */
export async function removeContainer(store: Store, id: string, opts: RemoveContainerOptions = {}): Promise<RemovedContainer | undefined> {
  let rec = findContainer(store.db, id);
  if (rec === undefined) return undefined;
  rec = await settle(store, rec);
  if (findContainer(store.db, id) === undefined) return { id: rec.id, name: rec.name, anonymousVolumes: [] };
  if (isLive(rec.state.status)) {
    if (!opts.force) {
      // Docker's words (daemon/delete.go): a paused container is to be unpaused first
      const procedure = rec.state.status === 'paused' ? 'Unpause and then stop the container before attempting removal or force remove' : 'Stop the container before attempting removal or force remove';
      throw new ConflictError(`You cannot remove a ${rec.state.status} container ${rec.id}. ${procedure}`);
    }
    await stopContainer(store, rec, 'SIGKILL', 0);
    rec = findContainer(store.db, id);
    if (rec === undefined) return { id, name: '', anonymousVolumes: [] };
  }
  const current = rec;
  const runtime = runtimeOf(store, current);
  // Marked 'removing' while its runtime state and root mount go: a crash then leaves a record
  // `rm -f` finishes. One with neither (a --rm container its run has just cleaned up) is
  // deleted at once: one transaction fewer at the end of every run --rm.
  if (runtime.exists(current.id) || isMountPoint(containerFiles(store.root, current.id).rootfs)) {
    writeTx(store.db, () => setState(store.db, id, { ...current.state, status: 'removing' }));
    await deleteFromRuntime(runtime, current.id);
    unmountRootfs(store.root, current.id);
  }
  const sn = await store.snapshots();
  // Whoever deletes the record removes the rest: another process removing it at the same
  // time (a prune beside a run --rm's end, two rm) found it first and does. With the record go
  // the snapshot's root and the directory's owner: the collection the snapshot is owed and the
  // directory's removal are recorded with the deletion, so that a kill from here on leaves both
  // to the next process to open the store (Store.open), not to a system check --repair (a
  // collection in another process may also take the snapshot first).
  const dirOf = `containers/${current.id}`;
  const deleted = writeTx(store.db, () => {
    if (!deleteContainer(store.db, current.id)) return false;
    beginCollection(store.db, process.pid);
    intendRemoval(store.db, process.pid, dirOf);
    return true;
  });
  if (!deleted) return undefined;
  // Its snapshot and its directory go side by side (two trees removed on the pool at once).
  const files = containerFiles(store.root, current.id);
  const measure = opts.measure === true;
  const freed = await Promise.all([
    (async () => {
      if ((await sn.stat(current.snapshot).catch(notFoundAsUndefined)) === undefined) return 0;
      return (await sn.remove(current.snapshot, { measure }).catch(notFoundAsUndefined)) ?? 0;
    })(),
    (async () => {
      if (!existsSync(files.dir)) return 0;
      const used = measure ? (await diskUsage(files.dir)).size : 0;
      await removeTree(files.dir);
      return used;
    })(),
  ]);
  writeTx(store.db, () => {
    removed(store.db, process.pid, dirOf);
    endCollection(store.db, process.pid);
  });
  const anonymous = opts.volumes ? volumesOf(current.settings).filter((v) => v.anonymous).map((v) => v.name) : [];
  const removedVolumes: string[] = [];
  for (const name of anonymous) {
    try {
      await removeVolume(store, name, { force: true, inUse: (n) => containersOfVolume(store.db, n) });
      removedVolumes.push(name);
    } catch (e) {
      // Another container (--volumes-from) still uses it: it stays, as Docker leaves it.
      if (!(e instanceof ConflictError)) throw e;
    }
  }
  return { id: current.id, name: current.name, anonymousVolumes: removedVolumes, ...(measure ? { reclaimed: freed[0] + freed[1] } : {}) };
}

function notFoundAsUndefined(e: unknown): undefined {
  if (e instanceof NotFoundError) return undefined;
  throw e;
}

/** `pause`: freeze a running container's processes. */
export async function pauseContainer(store: Store, rec: ContainerRecord): Promise<void> {
  const now = await refresh(store, rec);
  if (now.state.status === 'paused') throw new ConflictError(`Container ${rec.id} is already paused`);
  if (now.state.status !== 'running') throw new ConflictError(`Container ${rec.id} is not running`);
  await runtimeOf(store, rec).pause(rec.id);
  writeTx(store.db, () => setStateIf(store.db, rec.id, 'running', { ...now.state, status: 'paused' }));
}

/** `unpause`: thaw a paused container. */
export async function unpauseContainer(store: Store, rec: ContainerRecord): Promise<void> {
  const now = await refresh(store, rec);
  if (now.state.status !== 'paused') throw new ConflictError(`Container ${rec.id} is not paused`);
  await runtimeOf(store, rec).resume(rec.id);
  writeTx(store.db, () => setStateIf(store.db, rec.id, 'paused', { ...now.state, status: 'running' }));
}

/** The host pids of a running container's processes. */
export async function containerProcesses(store: Store, rec: ContainerRecord): Promise<number[]> {
  const now = await refresh(store, rec);
  if (!isLive(now.state.status)) throw new ConflictError(`Container ${rec.id} is not running`);
  return runtimeOf(store, rec).processes(rec.id);
}

/** `rename`. */
export function renameContainerTo(store: Store, rec: ContainerRecord, name: string): void {
  writeTx(store.db, () => renameContainer(store.db, rec.id, name));
}
