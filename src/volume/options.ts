/**
 * The local driver's options (`--opt type=...,device=...,o=...`), as Docker's local volume
 * driver reads them: which keys it accepts and which need which (with Docker's error words),
 * whether a volume must be mounted before use, and the mount(2) call its options make —
 * moby/sys/mount's split of `o` into mount flags and file-system data, and its rules for
 * bind, read-only bind and propagation. Pure: mount.ts performs the plan.
 */
import { InvalidArgumentError } from '../errors.js';
import { constants } from '../native/index.js';
import { goQuote } from '../template/fmt.js';

/** A volume's driver options: Docker's `Options` map. */
export type VolumeOptions = Record<string, string>;

/** Keys whose presence needs other keys (Docker's mandatoryOpts, checked in this order). */
const MANDATORY: ReadonlyArray<[key: string, needs: readonly string[]]> = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

/**
 * Docker's validateOpts for the local driver: only type, device and o (and size, which needs
 * quota support this store never has), each with the keys it needs. Throws Docker's message
 * with the `create NAME: ` prefix.
 */
export function validateOptions(name: string, options: VolumeOptions): void {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`create ${name}: ${why}`);
  };
  for (const key of Object.keys(options)) {
    if (!['type', 'device', 'o', 'size'].includes(key)) fail(`invalid option: ${goQuote(key)}`);
  }
  for (const [key, needs] of MANDATORY) {
    if (!(key in options)) continue;
    for (const need of needs) if (!(need in options)) fail(`missing required option: ${goQuote(need)}`);
  }
  if ('size' in options) fail('quota size requested but no quota support');
}

/** Whether a volume with these options is mounted at its mount point before use (Docker's needsMount). */
export function needsMount(options: VolumeOptions | null): boolean {
  return options !== null && ((options.type ?? '') !== '' || (options.device ?? '') !== '');
}

/** One mount(2) call. */
export interface MountCall {
  /** What Docker's error names it ("mount", "remount", "remount-ro"). */
  op: 'mount' | 'remount' | 'remount-ro';
  source: string | null;
  fstype: string | null;
  flags: number;
  data: string | null;
}

/** moby/sys/mount's option words: [clears the flag, the flag]. "defaults" has no flag and goes to the data. */
function flagTable(): Map<string, [clear: boolean, flag: number]> {
  const c = constants;
  return new Map<string, [boolean, number]>([
    ['ro', [false, c.MS_RDONLY]],
    ['rw', [true, c.MS_RDONLY]],
    ['suid', [true, c.MS_NOSUID]],
    ['nosuid', [false, c.MS_NOSUID]],
    ['dev', [true, c.MS_NODEV]],
    ['nodev', [false, c.MS_NODEV]],
    ['exec', [true, c.MS_NOEXEC]],
    ['noexec', [false, c.MS_NOEXEC]],
    ['sync', [false, c.MS_SYNCHRONOUS]],
    ['async', [true, c.MS_SYNCHRONOUS]],
    ['dirsync', [false, c.MS_DIRSYNC]],
    ['remount', [false, c.MS_REMOUNT]],
    ['atime', [true, c.MS_NOATIME]],
    ['noatime', [false, c.MS_NOATIME]],
    ['diratime', [true, c.MS_NODIRATIME]],
    ['nodiratime', [false, c.MS_NODIRATIME]],
    ['bind', [false, c.MS_BIND]],
    ['rbind', [false, c.MS_BIND | c.MS_REC]],
    ['unbindable', [false, c.MS_UNBINDABLE]],
    ['runbindable', [false, c.MS_UNBINDABLE | c.MS_REC]],
    ['private', [false, c.MS_PRIVATE]],
    ['rprivate', [false, c.MS_PRIVATE | c.MS_REC]],
    ['shared', [false, c.MS_SHARED]],
    ['rshared', [false, c.MS_SHARED | c.MS_REC]],
    ['slave', [false, c.MS_SLAVE]],
    ['rslave', [false, c.MS_SLAVE | c.MS_REC]],
    ['relatime', [false, c.MS_RELATIME]],
    ['norelatime', [true, c.MS_RELATIME]],
    ['strictatime', [false, c.MS_STRICTATIME]],
    ['nostrictatime', [true, c.MS_STRICTATIME]],
  ]);
}

/** moby/sys/mount parseOptions: `o`'s known words become flags, the rest (comma-joined) the data. */
export function parseMountOptions(o: string): { flags: number; data: string } {
  const table = flagTable();
  let flags = 0;
  const data: string[] = [];
  for (const word of o.split(',')) {
    const f = table.get(word);
    if (f === undefined) data.push(word);
    else if (f[0]) flags &= ~f[1];
    else flags |= f[1];
  }
  return { flags, data: data.join(',') };
}

/**
 * The mount(2) calls that mount a volume with these options at its mount point, as Docker's
 * local driver makes them (moby/sys/mount Mount): the mount itself — skipped for a device of
 * "" or "none" (a remount request) unless it carries data — then a propagation change, then a
 * read-only remount of a read-only bind.
 */
export function mountCalls(options: VolumeOptions): MountCall[] {
  const c = constants;
  const device = options.device ?? '';
  const { flags, data } = parseMountOptions(options.o ?? '');
  const ptypes = c.MS_SHARED | c.MS_PRIVATE | c.MS_SLAVE | c.MS_UNBINDABLE;
  const pflags = ptypes | c.MS_REC | c.MS_SILENT;
  const oflags = flags & ~ptypes;
  const remount = (flags & c.MS_REMOUNT) !== 0 || device === '' || device === 'none';
  const calls: MountCall[] = [];
  if (!remount || data !== '') calls.push({ op: 'mount', source: device, fstype: options.type ?? '', flags: oflags, data });
  if ((flags & ptypes) !== 0) calls.push({ op: 'remount', source: null, fstype: null, flags: flags & pflags, data: null });
  const broflags = c.MS_BIND | c.MS_RDONLY;
  if ((oflags & broflags) === broflags) calls.push({ op: 'remount-ro', source: null, fstype: null, flags: oflags | c.MS_REMOUNT, data: null });
  return calls;
}

/** moby/sys/mount's mountError text: "mount SOURCE:TARGET, flags: 0x1000, data: DATA: ERR". */
export function mountCallError(call: MountCall, target: string, err: string): string {
  let s = `${call.op} ${call.source ? `${call.source}:${target}` : target}`;
  if (call.flags !== 0) s += `, flags: 0x${(call.flags >>> 0).toString(16)}`;
  if (call.data) s += `, data: ${call.data}`;
  return `${s}: ${err}`;
}
