/**
 * The Debian base the benchmarks share: a minbase root filesystem made once with
 * `debootstrap --variant=minbase bookworm` from the mirror apt is configured with (apt's lists
 * and downloaded .debs removed, as Debian's container images do), and its tar (GNU tar: sorted
 * names, numeric owners, PAX with xattrs): ~122 MB, ~6,700 entries. Both are kept in a cache
 * directory (`DIR/debian.rootfs`, `DIR/debian.tar`) and reused; nothing is downloaded but
 * Debian's packages. Used by bench/unpack.ts (the layer) and bench/build.ts (the base image).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export const SUITE = 'bookworm';

function run(cmd: string, args: string[], stdoutFile?: string): void {
  const fd = stdoutFile === undefined ? undefined : openSync(stdoutFile, 'w');
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The Debian mirror apt is configured with (deb822 .sources or one-line sources.list). */
export function findMirror(): string {
  const files: string[] = [];
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const n of readdirSync(d).sort()) if (n.endsWith('.sources') || n.endsWith('.list')) files.push(join(d, n));
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string): string[] => (stanza.match(new RegExp(`^${k}:\\s*(.*)$`, 'mi'))?.[1] ?? '').trim().split(/\s+/);
        if (field('Suites').includes(SUITE) && field('Types').includes('deb')) {
          const uri = field('URIs')[0];
          if (uri) return uri;
        }
      }
    } else {
      for (const line of text.split('\n')) {
        const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m && m[2] === SUITE) return m[1]!;
      }
    }
  }
  throw new Error(`no apt source for ${SUITE} in /etc/apt: pass --mirror URL`);
}

/** GNU tar of a directory's content: sorted, numeric owners, PAX with xattrs, no atime/ctime records. */
export function tarDir(src: string, file: string): void {
  const tmp = `${file}.tmp`;
  run('tar', ['--sort=name', '--numeric-owner', '--format=pax', '--pax-option=delete=atime,delete=ctime', '--xattrs', '--xattrs-include=*', '-C', src, '-cf', tmp, '.']);
  renameSync(tmp, file);
}

/**
 * `DIR/debian.rootfs` and `DIR/debian.tar`, each made unless it exists (debootstrap: about a
 * minute; the mirror is looked up in /etc/apt when `mirror` is empty). Returns the tar's path.
 */
export function prepareDebian(dir: string, mirror: string, log: (s: string) => void): string {
  const rootfs = join(dir, 'debian.rootfs');
  if (!existsSync(rootfs)) {
    const from = mirror || findMirror();
    const partial = `${rootfs}.partial`;
    rmSync(partial, { recursive: true, force: true });
    log(`debootstrap --variant=minbase ${SUITE} (${from}), about a minute`);
    run('debootstrap', ['--variant=minbase', SUITE, partial, from], join(dir, 'debootstrap.log'));
    // what Debian's container images leave out too: downloaded packages and apt's lists
    const archives = join(partial, 'var/cache/apt/archives');
    for (const n of readdirSync(archives)) if (n.endsWith('.deb')) rmSync(join(archives, n));
    for (const n of readdirSync(join(partial, 'var/cache/apt'))) if (n.endsWith('.bin')) rmSync(join(partial, 'var/cache/apt', n));
    const lists = join(partial, 'var/lib/apt/lists');
    for (const n of readdirSync(lists, { withFileTypes: true })) if (n.isFile()) rmSync(join(lists, n.name));
    renameSync(partial, rootfs);
  }
  const tar = join(dir, 'debian.tar');
  if (!existsSync(tar)) tarDir(rootfs, tar);
  return tar;
}
