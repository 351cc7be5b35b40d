/**
 * `--tmpfs DST[:OPTS]` as Docker 20.10 takes it: a map, the last value for a DST winning;
 * DST must be absolute and not `/` (`invalid mount path: 'rel' mount path must be absolute`,
 * `invalid specification: destination can't be '/'`); OPTS are mount flags or
 * size/mode/uid/gid/nr_inodes/nr_blocks/mpol=VALUE (`invalid tmpfs option ["bogus"]`, which
 * Docker only finds at start). And a `--mount type=tmpfs` as tmpfs mount options. *pure*
 */
import { goQuote } from '../template/fmt.js';
import type { TmpfsMount } from '../runtime/spec.js';
import { daemonError } from './errors.js';
import { targetError, type TmpfsSpec } from './mounts.js';

/** moby/sys/mount's mount flags (tmpfs options without a value). */
const TMPFS_FLAGS = new Set([
  'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'sync', 'async', 'dirsync', 'remount', 'mand', 'nomand',
  'atime', 'noatime', 'diratime', 'nodiratime', 'bind', 'rbind', 'unbindable', 'runbindable', 'private', 'rprivate', 'shared',
  'rshared', 'slave', 'rslave', 'relatime', 'norelatime', 'strictatime', 'nostrictatime',
]);
/** Options with a value a tmpfs takes. */
const TMPFS_DATA = new Set(['', 'size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/** Go's %q of a []string: `["a" "b"]`. */
function goQuoteSlice(parts: readonly string[]): string {
  return `[${parts.map(goQuote).join(' ')}]`;
}

/** MergeTmpfsOptions' check of each option (Docker's message: `invalid tmpfs option ["bogus"]`). */
export function checkTmpfsOptions(options: readonly string[]): void {
  for (const o of options) {
    if (o === 'defaults' || TMPFS_FLAGS.has(o)) continue;
    const eq = o.indexOf('=');
    const parts = eq < 0 ? [o] : [o.slice(0, eq), o.slice(eq + 1)];
    if (parts.length !== 2 || !TMPFS_DATA.has(parts[0]!)) throw daemonError(`invalid tmpfs option ${goQuoteSlice(parts)}`);
  }
}

/**
 * The `--tmpfs` values: the last one for a destination wins (HostConfig.Tmpfs is a map),
 * each destination checked as the daemon does, and its options as the daemon does at start.
 * Insertion order of the map is the first appearance of each destination.
 */
export function parseTmpfsFlags(values: readonly string[]): { map: Record<string, string>; mounts: TmpfsMount[] } {
  const map = new Map<string, string>();
  for (const v of values) {
    const colon = v.indexOf(':');
    const dest = colon < 0 ? v : v.slice(0, colon);
    map.set(dest, colon < 0 ? '' : v.slice(colon + 1));
  }
  const mounts: TmpfsMount[] = [];
  for (const [dest, opts] of map) {
    const t = targetError(dest);
    if (t !== undefined) throw daemonError(t);
    const options = opts === '' ? [] : opts.split(',');
    checkTmpfsOptions(options);
    mounts.push(options.length > 0 ? { destination: dest, options } : { destination: dest });
  }
  return { map: Object.fromEntries(map), mounts };
}

/** Docker's ConvertTmpfsOptions: a `--mount type=tmpfs` as tmpfs mount options (`ro,mode=1770,size=1m`). */
export function tmpfsMountOptions(spec: TmpfsSpec): string[] {
  const out: string[] = [];
  if (spec.readOnly) out.push('ro');
  if (spec.mode) out.push(`mode=${spec.mode.toString(8)}`);
  if (spec.sizeBytes) {
    let size = spec.sizeBytes;
    let suffix = '';
    for (const [s, d] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
      if (size % d === 0) {
        size /= d;
        suffix = s;
        break;
      }
    }
    out.push(`size=${size}${suffix}`);
  }
  return out;
}

/** A `--mount type=tmpfs` as the runtime takes it. */
export function runtimeTmpfs(spec: TmpfsSpec): TmpfsMount {
  const options = tmpfsMountOptions(spec);
  return options.length > 0 ? { destination: spec.destination, options } : { destination: spec.destination };
}

