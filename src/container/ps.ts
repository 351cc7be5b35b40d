/**
 * A container's row of `docker ps` (Docker 20.10): the fields of the CLI's ContainerContext —
 * ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Size, Names, Labels, Mounts,
 * LocalVolumes, Networks — as the default table and `--format` print them, from a container's
 * facts given as data; the STATUS texts (`Created`, `Up 3 seconds`, `Up 3 seconds (Paused)`,
 * `Up 1 minute (healthy)`, `Up 2 seconds (health: starting)`, `Exited (0) 5 seconds ago`,
 * `Restarting (1) 2 seconds ago`, `Dead`, `Removal In Progress`) with go-units' human
 * durations; COMMAND quoted as Go's %q after truncation to 20 display columns with `…`. *pure*
 *
 * The go-units formatting (HumanDuration, HumanSizeWithPrecision) and Go's time.String are
 * also in cli/format.ts; container/ sits below cli/ and cannot import it.
 */
import { goQuote } from '../template/fmt.js';
import { InvalidArgumentError } from '../errors.js';
import { familiarString, nameOnly, parseNormalizedReference, withTag, type Reference } from '../reference/reference.js';
import type { ContainerStatus, HealthState } from './inspect.js';
import type { DockerMountPoint } from './mounts.js';

// --- go-units and Go's time ------------------------------------------------------------------------

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** Go's %.*g of a number below 1000 (after the unit division). */
function goG(v: number, precision: number): string {
  let s = v.toPrecision(precision);
  if (s.includes('e')) {
    const [m, e] = s.split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
    const exp = Number(e);
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
}

/** go-units HumanSizeWithPrecision(size, 3): `1.99MB`, `0B`. */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goG(size, precision)}${units[i]}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Go's time.Time.String() of a Unix second in the local zone: `2026-12-04 02:25:50 +0000 UTC`. */
export function goTimeString(ms: number): string {
  const d = new Date(Math.trunc(ms / 1000) * 1000);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const zone = `${sign}${pad2(Math.trunc(Math.abs(off) / 60))}${pad2(Math.abs(off) % 60)}`;
  const abbr = off === 0 ? 'UTC' : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? zone);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zone} ${abbr}`;
}

// --- display width ----------------------------------------------------------------------------------

/** East Asian Wide and Fullwidth ranges (golang.org/x/text/width), the ones that occur in practice. */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x23e9, 0x23ec], [0x23f0, 0x23f0], [0x23f3, 0x23f3], [0x25fd, 0x25fe],
  [0x2614, 0x2615], [0x2648, 0x2653], [0x267f, 0x267f], [0x2693, 0x2693], [0x26a1, 0x26a1], [0x26aa, 0x26ab], [0x26bd, 0x26be],
  [0x26c4, 0x26c5], [0x26ce, 0x26ce], [0x26d4, 0x26d4], [0x26ea, 0x26ea], [0x26f2, 0x26f3], [0x26f5, 0x26f5], [0x26fa, 0x26fa],
  [0x26fd, 0x26fd], [0x2705, 0x2705], [0x270a, 0x270b], [0x2728, 0x2728], [0x274c, 0x274c], [0x274e, 0x274e], [0x2753, 0x2755],
  [0x2757, 0x2757], [0x2795, 0x2797], [0x27b0, 0x27b0], [0x27bf, 0x27bf], [0x2b1b, 0x2b1c], [0x2b50, 0x2b50], [0x2b55, 0x2b55],
  [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x16fe0, 0x18cff], [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004], [0x1f0cf, 0x1f0cf], [0x1f18e, 0x1f18e], [0x1f191, 0x1f19a], [0x1f200, 0x1f251], [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff], [0x1f7e0, 0x1f7eb], [0x1f90c, 0x1f9ff], [0x1fa70, 0x1faff], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];

function charWidth(cp: number): number {
  for (const [lo, hi] of WIDE) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

/** docker/cli formatter.Ellipsis: cut to `max` display columns, the last one `…`. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = [...s];
  if (max === 1) return rs[0] ?? '';
  if (Buffer.byteLength(s) === rs.length) {
    if (rs.length <= max) return s;
    return rs.slice(0, max - 1).join('') + '…';
  }
  const display: number[] = [];
  let width = 0;
  for (const r of rs) {
    width += charWidth(r.codePointAt(0)!);
    display.push(width);
  }
  if (width <= max) return s;
  for (let i = 0; i < display.length - 1; i++) {
    if (display[i]! <= max - 1 && display[i + 1]! > max - 1) return rs.slice(0, i + 1).join('') + '…';
  }
  return s;
}

// --- the fields -----------------------------------------------------------------------------------------

/** The daemon's Command of a container: Path, then Args, an argument with a space in `'...'`. */
export function psCommand(path: string, args: readonly string[]): string {
  if (args.length === 0) return path;
  return `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}

/** What `ps` needs of a container's state. Times are Unix milliseconds; undefined: never. */
export interface PsState {
  status: ContainerStatus;
  exitCode: number;
  startedAt?: number;
  finishedAt?: number;
  health?: Pick<HealthState, 'Status'>;
}

/** Docker's State.String(): the STATUS column. */
export function containerStatus(s: PsState, now: number): string {
  const since = (t: number | undefined): string => humanDuration(now - (t ?? 0));
  if (s.status === 'running' || s.status === 'paused' || s.status === 'restarting') {
    if (s.status === 'paused') return `Up ${since(s.startedAt)} (Paused)`;
    if (s.status === 'restarting') return `Restarting (${s.exitCode}) ${since(s.finishedAt)} ago`;
    if (s.health !== undefined) return `Up ${since(s.startedAt)} (${s.health.Status === 'starting' ? 'health: starting' : s.health.Status})`;
    return `Up ${since(s.startedAt)}`;
  }
  if (s.status === 'removing') return 'Removal In Progress';
  if (s.status === 'dead') return 'Dead';
  if (s.startedAt === undefined) return 'Created';
  if (s.finishedAt === undefined) return '';
  return `Exited (${s.exitCode}) ${since(s.finishedAt)} ago`;
}

/** Docker's State.StateString(): the State field (`created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`). */
export function containerState(s: PsState): string {
  if (s.status === 'paused' || s.status === 'restarting' || s.status === 'running' || s.status === 'removing' || s.status === 'dead') return s.status;
  return s.startedAt === undefined ? 'created' : 'exited';
}

/** What a `ps` row is made from. */
export interface PsInput {
  /** 64 hex digits. */
  id: string;
  /** Without a leading `/`. */
  name: string;
  /** The image as the container was created from it (Config.Image). */
  image: string;
  /** `sha256:...` */
  imageId: string;
  path: string;
  args: readonly string[];
  /** Unix milliseconds. */
  created: number;
  state: PsState;
  labels: Readonly<Record<string, string>>;
  mounts: readonly DockerMountPoint[];
  /** Its networks (`host`, `none`). */
  networks: readonly string[];
  /** With `-s`: bytes in the writable layer, and in it plus the image. */
  sizeRw?: number;
  sizeRootFs?: number;
}

/** A row of `ps`: the values `--format` sees under Docker's field names. */
export interface PsRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Size: string;
  Names: string;
  Labels: string;
  Mounts: string;
  LocalVolumes: string;
  Networks: string;
}

function truncateId(id: string): string {
  const bare = id.includes(':') ? id.slice(id.indexOf(':') + 1) : id;
  return bare.slice(0, 12);
}

/** The IMAGE column: with truncation, an image ID shortened and a digest left out, as Docker's CLI does. */
export function psImage(image: string, imageId: string, trunc: boolean): string {
  if (image === '') return '<no image>';
  if (!trunc) return image;
  if (truncateId(imageId) === truncateId(image)) return truncateId(imageId);
  let ref: Reference;
  try {
    ref = parseNormalizedReference(image);
  } catch (e) {
    if (e instanceof InvalidArgumentError) return image;
    throw e;
  }
  return familiarString(ref.tag !== undefined ? withTag(nameOnly(ref), ref.tag) : nameOnly(ref));
}

/** A container's `ps` row; `trunc` unless `--no-trunc`. */
export function psRow(c: PsInput, opts: { now: number; trunc: boolean }): PsRow {
  const command = psCommand(c.path, c.args);
  const mounts = c.mounts.map((m) => {
    const name = m.Name === undefined || m.Name === '' ? m.Source : m.Name;
    return opts.trunc ? ellipsis(name, 15) : name;
  });
  let size = '';
  if (c.sizeRw !== undefined || c.sizeRootFs !== undefined) {
    const rw = humanSize(c.sizeRw ?? 0);
    size = (c.sizeRootFs ?? 0) > 0 ? `${rw} (virtual ${humanSize(c.sizeRootFs!)})` : rw;
  }
  return {
    ID: opts.trunc ? truncateId(c.id) : c.id,
    Image: psImage(c.image, c.imageId, opts.trunc),
    Command: goQuote(opts.trunc ? ellipsis(command, 20) : command),
    CreatedAt: goTimeString(c.created),
    RunningFor: `${humanDuration(opts.now - Math.trunc(c.created / 1000) * 1000)} ago`,
    Ports: '',
    State: containerState(c.state),
    Status: containerStatus(c.state, opts.now),
    Size: size,
    Names: c.name,
    Labels: Object.keys(c.labels).sort().map((k) => `${k}=${c.labels[k]}`).join(','),
    Mounts: mounts.join(','),
    LocalVolumes: String(c.mounts.filter((m) => m.Driver === 'local').length),
    Networks: [...c.networks].join(','),
  };
}

/** The default `ps` table's columns: field and header. */
export const PS_COLUMNS: ReadonlyArray<readonly [keyof PsRow, string]> = [
  ['ID', 'CONTAINER ID'],
  ['Image', 'IMAGE'],
  ['Command', 'COMMAND'],
  ['RunningFor', 'CREATED'],
  ['Status', 'STATUS'],
  ['Ports', 'PORTS'],
  ['Names', 'NAMES'],
];
