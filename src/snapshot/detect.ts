/**
 * Which storage driver this machine can use: overlay where the kernel has overlayfs and this
 * process may mount it on the store's file system (probed once with a tiny mount), else native.
 * Also the overlay options the snapshotter pins (index, redirect_dir and metacopy off, so an
 * upper directory always holds whole files and plain whiteouts a differ can read).
 */
import * as fsp from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { errnoCode } from '../errors.js';
import { constants, isNativeAvailable, overlayMount, probeOverlayFs, umount2 } from '../native/index.js';
import { removeTree } from '../rmtree.js';
import type { DriverName } from './types.js';

export type OverlayProbe = { ok: true } | { ok: false; reason: string };

const probes = new Map<string, Promise<OverlayProbe>>();

/** Probe prefix; leftovers of killed processes are cleaned by {@link cleanProbeLeftovers}. */
export const PROBE_PREFIX = '.overlay-probe-';

/**
 * Whether an overlay with an upper layer can be mounted with its layers in `dir`
 * (default: the system temp directory). The answer is cached per directory.
 */
export function probeOverlay(dir: string = tmpdir()): Promise<OverlayProbe> {
  const key = resolve(dir);
  let p = probes.get(key);
  if (p === undefined) {
    p = runProbe(key);
    probes.set(key, p);
  }
  return p;
}

/** 'overlay' if {@link probeOverlay} succeeds in `dir`, else 'native'. */
export async function detectDefaultDriver(dir?: string): Promise<DriverName> {
  return (await probeOverlay(dir)).ok ? 'overlay' : 'native';
}

function kernelListsOverlay(): boolean {
  try {
    return /\boverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch (e) {
    // No /proc: say no; the probe mount below decides anyway (the module may load on demand).
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

async function runProbe(dir: string): Promise<OverlayProbe> {
  if (!isNativeAvailable()) return { ok: false, reason: 'the native addon is not built' };
  const listed = kernelListsOverlay();
  await fsp.mkdir(dir, { recursive: true });
  const base = await fsp.mkdtemp(join(dir, `${PROBE_PREFIX}${process.pid}-`));
  const [lower, upper, work, merged] = ['l', 'u', 'w', 'm'].map((n) => join(base, n)) as [string, string, string, string];
  try {
    for (const d of [lower, upper, work, merged]) await fsp.mkdir(d);
    await fsp.writeFile(join(lower, 'probe'), 'lower');
    try {
      overlayMount({ lowerdirs: [lower], upperdir: upper, workdir: work, target: merged });
    } catch (e) {
      const why = (e as Error).message;
      return { ok: false, reason: listed ? why : `the kernel has no overlay file system (${why})` };
    }
    try {
      await fsp.writeFile(join(merged, 'probe'), 'upper');
      const seen = await fsp.readFile(join(upper, 'probe'), 'utf8');
      if (seen !== 'upper') return { ok: false, reason: 'a write through the overlay did not reach its upper layer' };
    } finally {
      // Detached, not unmounted in place: unmounting an overlay with an upper layer syncs the
      // upper file system first (~20 ms here, far more with dirty data from a load in progress).
      umount2(merged, constants.MNT_DETACH);
    }
    return { ok: true };
  } finally {
    await removeTree(base);
  }
}

/** Remove probe directories in `dir` left by dead processes (unmounting a probe left mounted). */
export async function cleanProbeLeftovers(dir: string, alive: (pid: number) => boolean): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  for (const name of names) {
    if (!name.startsWith(PROBE_PREFIX)) continue;
    const pid = Number(name.slice(PROBE_PREFIX.length).split('-', 1)[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) continue;
    const merged = join(dir, name, 'm');
    try {
      umount2(merged, constants.MNT_DETACH);
    } catch (e) {
      // EINVAL: not mounted; ENOENT: never made. Anything else is real.
      const code = errnoCode(e);
      if (code !== 'EINVAL' && code !== 'ENOENT') throw e;
    }
    await removeTree(join(dir, name));
  }
}

let pinned: string[] | undefined;

/**
 * Overlay options every snapshot mount carries: "index=off", "redirect_dir=off" and
 * "metacopy=off" where this kernel's overlay knows them (it lists its parameters in sysfs).
 */
export function pinnedOverlayOptions(): string[] {
  if (pinned !== undefined) return [...pinned];
  const params = '/sys/module/overlay/parameters';
  // fsopen("overlay") loads the overlay module if it is not loaded yet (and tells nothing else).
  if (!existsSync(params) && isNativeAvailable()) probeOverlayFs();
  if (!existsSync(params)) return [];
  pinned = ['index', 'redirect_dir', 'metacopy'].filter((p) => existsSync(join(params, p))).map((p) => `${p}=off`);
  return [...pinned];
}
