/**
 * Mounts as Docker 20.10 has them on Linux: the typed specs (bind, volume, tmpfs) and Docker's
 * Mount, the daemon's checks of a Mount, `-v` and `--volumes-from`, the duplicate mount point
 * rule, the mounts a container gets once its image's VOLUMEs are known, and Docker's `Mounts`
 * entries of inspect. `--mount` is read by mountopt.ts, `--tmpfs` by tmpfs.ts. *pure*
 *
 * `-v [SRC:]DST[:MODE]` (moby volume/mounts linux_parser.go): SRC absolute → a bind mount,
 * another SRC → a named volume (local driver's name rule), no SRC → an anonymous volume;
 * MODE a comma list of at most one each of ro/rw, z/Z, nocopy, a propagation
 * (shared, rshared, slave, rslave, private, rprivate) and a consistency (consistent, cached,
 * delegated). Messages: `invalid volume specification: 'a:b:c:d'`, `invalid mode: ro,rw`,
 * `invalid volume specification: '/tmp:x': invalid mount config for type "bind": invalid mount
 * path: 'x' mount path must be absolute`, `...: invalid specification: destination can't be
 * '/'`, `...: field VolumeOptions must not be specified` (nocopy on a bind), `...: field
 * BindOptions must not be specified` (a propagation on a volume), `create bad/name: "bad/name"
 * includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are
 * allowed. If you intended to pass a host directory, use absolute path`. Docker 20.10 lets an
 * anonymous `-v` through unchecked (`-v x`, `-v ''`, `-v :/x` make containers that fail to
 * start or mount at "x"); cairn checks it as the daemon checks the others.
 *
 * Duplicates (daemon/volumes.go): a `-v` bind or named volume on a destination an earlier one
 * or a `--tmpfs` uses, a `--mount` on one an earlier `-v`/`--mount` uses: `Duplicate mount
 * point: /x` (the `-v` destination cleaned, the `--mount` target as given). cairn also refuses
 * a `--mount type=tmpfs` on a `--tmpfs` destination, which Docker accepts into a broken spec.
 * An anonymous volume (`-v /x`, an image VOLUME) on a destination something else mounts is
 * dropped, as Docker drops it.
 */
import { InvalidArgumentError } from '../errors.js';
import { goQuote } from '../template/fmt.js';
import type { BindMount, TmpfsMount } from '../runtime/spec.js';
import { daemonError } from './errors.js';

export type Propagation = 'rprivate' | 'private' | 'rshared' | 'shared' | 'rslave' | 'slave';
export const PROPAGATIONS: readonly Propagation[] = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

/** A bind mount of a host path. */
export interface BindSpec {
  type: 'bind';
  /** Absolute host path, cleaned. */
  source: string;
  /** Absolute path in the container, cleaned. */
  destination: string;
  readOnly: boolean;
  propagation: Propagation;
  /** `z`/`Z` of `-v`: accepted; cairn does no SELinux relabelling. */
  selinux?: 'z' | 'Z';
  /** `--mount bind-nonrecursive`: a plain bind instead of rbind. */
  nonRecursive: boolean;
  /** `-v` makes a missing source directory (Docker does, at start); `--mount` refuses it. */
  createSource: boolean;
  /** Docker's MountPoint.Mode: the `-v` mode text as given (`ro,Z`), `` for `--mount`. */
  mode: string;
}

/** A volume: named, or anonymous (`name` undefined: the caller names it with a random id). */
export interface VolumeSpec {
  type: 'volume';
  name?: string;
  /** Named at create for this container (an anonymous `-v`, an image VOLUME): goes with `rm -v` and `--rm`. */
  anonymous?: boolean;
  destination: string;
  readOnly: boolean;
  /** Skip filling an empty volume with the image's content at the mount point. */
  noCopy: boolean;
  /** `local`, the only driver. */
  driver: string;
  /** `--mount volume-opt=K=V` for a volume this creates. */
  driverOpts: Record<string, string>;
  /** `--mount volume-label=K=V` for a volume this creates. */
  labels: Record<string, string>;
  selinux?: 'z' | 'Z';
  /** Docker's MountPoint.Mode: the `-v` mode, or `z` for a named or `--mount` volume without one. */
  mode: string;
}

/** A tmpfs from `--mount type=tmpfs`. */
export interface TmpfsSpec {
  type: 'tmpfs';
  destination: string;
  readOnly: boolean;
  sizeBytes?: number;
  /** File mode bits (`tmpfs-mode=1770` → 0o1770). */
  mode?: number;
}

export type MountSpec = BindSpec | VolumeSpec | TmpfsSpec;

/** Docker's api/types/mount.Mount: a `--mount` as HostConfig.Mounts keeps it. */
export interface DockerMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** One `-v` value: its text (HostConfig.Binds, or Config.Volumes when anonymous) and its spec. */
export interface VolumeFlag {
  text: string;
  spec: BindSpec | VolumeSpec;
}

/** One `--mount` value: Docker's Mount (HostConfig.Mounts) and its spec. */
export interface MountFlag {
  mount: DockerMount;
  spec: MountSpec;
}

/** A Go map as encoding/json writes it: keys sorted. */
export function sortedKeys(m: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

// --- paths --------------------------------------------------------------------------------------

/** Go's path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

function isAbs(p: string): boolean {
  return p.startsWith('/');
}

// --- names --------------------------------------------------------------------------------------

/** Docker's RestrictedNameChars, the rule for container and local volume names. */
export const RESTRICTED_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const RESTRICTED_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * The local driver's check of a volume name, as `volume create` and a `-v NAME:` report it
 * (`create NAME: ...`); undefined when the name is good.
 */
export function volumeNameError(name: string): string | undefined {
  if ([...name].length === 1) return `create ${name}: volume name is too short, names should be at least two alphanumeric characters`;
  if (!RESTRICTED_NAME_RE.test(name)) {
    return `create ${name}: ${goQuote(name)} includes invalid characters for a local volume name, only ${goQuote(RESTRICTED_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}

function checkVolumeDriver(name: string | undefined, driver: string): void {
  if (driver === '' || driver === 'local') return;
  const what = `error looking up volume plugin ${driver}: plugin ${goQuote(driver)} not found`;
  throw daemonError(name === undefined ? what : `create ${name}: ${what}`);
}

// --- the daemon's checks of a mount (validateMountConfigImpl) -----------------------------------

function mountConfigError(type: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid mount config for type ${goQuote(type)}: ${message}`);
}

/** linuxValidateNotRoot then linuxValidateAbsolute for a target. */
export function targetError(target: string): string | undefined {
  if (cleanPath(target.replace(/\\/g, '/')) === '/') return "invalid specification: destination can't be '/'";
  if (!isAbs(target.replace(/\\/g, '/'))) return `invalid mount path: '${target.replace(/\\/g, '/')}' mount path must be absolute`;
  return undefined;
}

/** The daemon's validation of one Mount (`--mount`, or `-v` turned into one). */
export function validateMount(m: DockerMount): void {
  const type = m.Type ?? '';
  const target = m.Target ?? '';
  if (target === '') throw mountConfigError(type, 'field Target must not be empty');
  const t = targetError(target);
  if (t !== undefined) throw mountConfigError(type, t);
  switch (type) {
    case 'bind': {
      if ((m.Source ?? '') === '') throw mountConfigError(type, 'field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop !== undefined && prop !== '' && !PROPAGATIONS.includes(prop as Propagation)) throw mountConfigError(type, `invalid propagation mode: ${prop}`);
      if (m.VolumeOptions !== undefined) throw mountConfigError(type, 'field VolumeOptions must not be specified');
      if (!isAbs(m.Source!.replace(/\\/g, '/'))) throw mountConfigError(type, `invalid mount path: '${m.Source!.replace(/\\/g, '/')}' mount path must be absolute`);
      return;
    }
    case 'volume':
      if (m.BindOptions !== undefined) throw mountConfigError(type, 'field BindOptions must not be specified');
      if ((m.Source ?? '') === '' && m.ReadOnly) throw mountConfigError(type, 'must not set ReadOnly mode when using anonymous volumes');
      return;
    case 'tmpfs':
      if (m.BindOptions !== undefined) throw mountConfigError(type, 'field BindOptions must not be specified');
      if ((m.Source ?? '') !== '') throw mountConfigError(type, 'field Source must not be specified');
      return;
    default:
      throw mountConfigError(type, 'mount type unknown');
  }
}

// --- -v ------------------------------------------------------------------------------------------

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);

/** linuxValidMountMode: at most one of each kind, nothing unknown; `` is valid. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = { rw: 0, label: 0, propagation: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(',')) {
    if (RW_MODES.has(o)) counts.rw++;
    else if (LABEL_MODES.has(o)) counts.label++;
    else if (PROPAGATIONS.includes(o as Propagation)) counts.propagation++;
    else if (o === 'nocopy') counts.copy++;
    else if (CONSISTENCY_MODES.has(o)) counts.consistency++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

/**
 * One `-v` value, as the daemon's ParseMountRaw reads it (then the local driver's name check).
 * Errors are CreateFlagErrors of stage `daemon`.
 */
export function parseVolumeFlag(raw: string): VolumeFlag {
  const invalidSpec = `invalid volume specification: '${raw}'`;
  if ((raw.match(/:/g) ?? []).length > 2) throw daemonError(invalidSpec);
  const arr = raw.split(':');
  if (arr[0] === '') throw daemonError(invalidSpec);
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) {
    target = arr[0]!;
  } else if (arr.length === 2) {
    if (validMountMode(arr[1]!)) throw daemonError(invalidSpec);
    source = arr[0]!;
    target = arr[1]!;
  } else {
    [source, target, mode] = arr as [string, string, string];
  }
  if (!validMountMode(mode)) throw daemonError(`invalid mode: ${mode}`);
  const opts = mode === '' ? [] : mode.split(',');
  const type = isAbs(source) ? 'bind' : 'volume';
  const readOnly = opts.includes('ro');
  const propagation = opts.find((o): o is Propagation => PROPAGATIONS.includes(o as Propagation));
  const noCopy = opts.includes('nocopy');
  const selinux = opts.find((o): o is 'z' | 'Z' => o === 'z' || o === 'Z');
  // As the daemon, check it as the Mount it would make.
  const m: DockerMount = { Type: type, Source: source, Target: target, ReadOnly: readOnly };
  if (noCopy) m.VolumeOptions = { NoCopy: true };
  if (propagation !== undefined) m.BindOptions = { Propagation: propagation };
  try {
    validateMount(m);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw daemonError(`${invalidSpec}: ${e.message}`);
    throw e;
  }
  const destination = cleanPath(target);
  if (type === 'bind') {
    const spec: BindSpec = {
      type: 'bind',
      source: cleanPath(source),
      destination,
      readOnly,
      propagation: propagation ?? 'rprivate',
      nonRecursive: false,
      createSource: true,
      mode,
    };
    if (selinux !== undefined) spec.selinux = selinux;
    return { text: raw, spec };
  }
  const spec: VolumeSpec = { type: 'volume', destination, readOnly, noCopy, driver: 'local', driverOpts: {}, labels: {}, mode };
  if (source !== '') {
    spec.name = source;
    if (mode === '') spec.mode = 'z';
  }
  if (selinux !== undefined) spec.selinux = selinux;
  return { text: raw, spec };
}

/** One `--volumes-from CONTAINER[:MODE]`: MODE is ro or rw (default), perhaps with z/Z. */
export interface VolumesFrom {
  /** As given (HostConfig.VolumesFrom). */
  text: string;
  container: string;
  mode: string;
}

/**
 * `--volumes-from` as the daemon's ParseVolumesFrom reads it: `volumes-from specification
 * cannot be an empty string`; a mode with a propagation or nocopy, or any invalid one, is
 * `invalid mode: ro,rshared`. Whether the container exists is the caller's check (Docker:
 * `No such container: nosuch`).
 */
export function parseVolumesFrom(spec: string): VolumesFrom {
  if (spec === '') throw daemonError('volumes-from specification cannot be an empty string');
  const colon = spec.indexOf(':');
  if (colon < 0) return { text: spec, container: spec, mode: 'rw' };
  const mode = spec.slice(colon + 1);
  const opts = mode.split(',');
  if (!validMountMode(mode) || opts.some((o) => PROPAGATIONS.includes(o as Propagation) || o === 'nocopy')) throw daemonError(`invalid mode: ${mode}`);
  return { text: spec, container: spec.slice(0, colon), mode };
}

// --- duplicates and the final list --------------------------------------------------------------

/**
 * The daemon's registerMountPoints over `-v` then `--mount`, in order: each `-v` parsed
 * ({@link parseVolumeFlag}); a bind or named volume on a destination an earlier one or a
 * `--tmpfs` uses, or a `--mount` on one an earlier `-v`/`--mount` uses, is `Duplicate mount
 * point: D` (the `-v` destination cleaned, the `--mount` target as given); each named volume's
 * name then checked as the local driver checks it. Anonymous `-v` volumes are not checked for
 * duplicates: they yield ({@link containerMounts}). Destinations are compared cleaned (Docker
 * compares a `--tmpfs` one as given, and lets `--mount type=tmpfs` share one with `--tmpfs`).
 */
export function registerMounts(volumeValues: readonly string[], mounts: readonly MountFlag[], tmpfs: readonly TmpfsMount[]): VolumeFlag[] {
  const tmpfsDests = new Set(tmpfs.map((t) => cleanPath(t.destination)));
  const seen = new Set<string>();
  const checkName = (spec: MountSpec): void => {
    if (spec.type !== 'volume') return;
    if (spec.name !== undefined) {
      const err = volumeNameError(spec.name);
      if (err !== undefined) throw daemonError(err);
    }
    checkVolumeDriver(spec.name, spec.driver);
  };
  const volumes: VolumeFlag[] = [];
  for (const text of volumeValues) {
    const v = parseVolumeFlag(text);
    volumes.push(v);
    if (v.spec.type === 'volume' && v.spec.name === undefined) continue;
    const d = v.spec.destination;
    if (seen.has(d) || tmpfsDests.has(d)) throw daemonError(`Duplicate mount point: ${d}`);
    seen.add(d);
    checkName(v.spec);
  }
  for (const m of mounts) {
    const d = m.spec.destination;
    if (seen.has(d) || (m.spec.type === 'tmpfs' && tmpfsDests.has(d))) throw daemonError(`Duplicate mount point: ${m.mount.Target}`);
    seen.add(d);
    checkName(m.spec);
  }
  return volumes;
}

/**
 * The mounts a container gets, by destination (Docker's registerMountPoints and its anonymous
 * volumes): the mounts of `--volumes-from` containers (`inherited`, resolved by the caller),
 * then `-v` binds and named volumes, then `--mount`s — a later one on a destination replaces
 * an earlier one (duplicates among the last two were refused by {@link registerMounts}) — then
 * an anonymous volume for each anonymous `-v` and image VOLUME whose (cleaned) destination
 * nothing else mounts, `--tmpfs` included; several on one destination are one. `--tmpfs`
 * mounts themselves are not in the list (RunOptions.tmpfs).
 */
export function containerMounts(parts: {
  volumes: readonly VolumeFlag[];
  mounts: readonly MountFlag[];
  tmpfs: readonly TmpfsMount[];
  imageVolumes?: readonly string[];
  inherited?: readonly MountSpec[];
}): MountSpec[] {
  const byDest = new Map<string, MountSpec>();
  const put = (spec: MountSpec): void => {
    byDest.delete(spec.destination);
    byDest.set(spec.destination, spec);
  };
  for (const spec of parts.inherited ?? []) put(spec);
  for (const v of parts.volumes) if (!(v.spec.type === 'volume' && v.spec.name === undefined)) put(v.spec);
  for (const m of parts.mounts) put(m.spec);
  const taken = new Set([...byDest.keys(), ...parts.tmpfs.map((t) => cleanPath(t.destination))]);
  const anonymous: VolumeSpec[] = [
    ...parts.volumes.map((v) => v.spec).filter((s): s is VolumeSpec => s.type === 'volume' && s.name === undefined),
    ...(parts.imageVolumes ?? []).map((d): VolumeSpec => ({ type: 'volume', destination: cleanPath(d), readOnly: false, noCopy: false, driver: 'local', driverOpts: {}, labels: {}, mode: '' })),
  ];
  for (const a of anonymous) {
    if (taken.has(a.destination)) continue;
    taken.add(a.destination);
    byDest.set(a.destination, a);
  }
  return [...byDest.values()];
}

// --- for the runtime and inspect -----------------------------------------------------------------

/** A bind spec as the runtime takes it. */
export function runtimeBind(spec: BindSpec): BindMount {
  const out: BindMount = { source: spec.source, destination: spec.destination, readOnly: spec.readOnly, propagation: spec.propagation };
  if (spec.nonRecursive) out.nonRecursive = true;
  return out;
}

/** Docker's types.MountPoint, an entry of inspect's `Mounts` (and of `ps`'s). */
export interface DockerMountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/**
 * The inspect `Mounts` entry of a mount: a volume needs its name (an anonymous one the id the
 * caller gave it) and its data directory on the host.
 */
export function dockerMountPoint(spec: MountSpec, volume?: { name: string; source: string }): DockerMountPoint {
  switch (spec.type) {
    case 'bind':
      return { Type: 'bind', Source: spec.source, Destination: spec.destination, Mode: spec.mode, RW: !spec.readOnly, Propagation: spec.propagation };
    case 'volume': {
      if (volume === undefined) throw new InvalidArgumentError(`the volume at ${spec.destination} has no name and data directory yet`);
      return { Type: 'volume', Name: volume.name, Source: volume.source, Destination: spec.destination, Driver: spec.driver, Mode: spec.mode, RW: !spec.readOnly, Propagation: '' };
    }
    default:
      return { Type: 'tmpfs', Source: '', Destination: spec.destination, Mode: '', RW: !spec.readOnly, Propagation: '' };
  }
}

