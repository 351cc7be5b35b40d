/**
 * The content of what a COPY or ADD reads from the build context, as one digest for its cache
 * key: every entry its sources name, seen as the copy sees them (copy-source.ts: the
 * .dockerignore view, wildcards, symlinks followed inside the context), described by its path
 * below the source, type, permission bits, link target and, for a file, the digest of its
 * bytes — never its owner (a context's files land as 0:0) or times. So touching a file keeps
 * the cache, and changing one byte changes the key.
 *
 * A file's digest is taken from the cache records when its identity (device, inode, size,
 * mtime, ctime) is unchanged since it was hashed; otherwise its bytes are hashed on libuv's
 * pool (never read into JavaScript), a few files at once, and remembered.
 */
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { type Digest, digestOf } from '../digest/digest.js';
import { PatternMatcher } from '../dockerfile/dockerignore.js';
import type { Db } from '../metadata/db.js';
import { hashDigest, hashFile, hashNew, type NativeStat } from '../native/index.js';
import { knownFileDigests, rememberFileDigests } from './cache-records.js';
import { SourceTree, childPath, isDir, matchSource } from './copy-source.js';

/** How many files are hashed at once. */
const HASHING = 8;

export interface SourceDigest {
  /** The digest of every entry's description, in order. */
  digest: Digest;
  /** Each file's path in the context and content digest (for explaining a cache miss). */
  files: Map<string, Digest>;
  /** Bytes of the files whose content was read this time (the others were known). */
  bytesRead: number;
}

interface Entry {
  /** What the entry is, without the file's content. */
  line: string;
  /** A regular file: its host path and stat, to hash. */
  file?: { host: string; path: string; st: NativeStat };
}

/**
 * The digest of what `sources` name in the context at `root` (see the module comment).
 * `dockerignore` and `excludes` (COPY --exclude) hide what the copy would not read. A missing
 * source throws as the copy would (CopySourceNotFoundError).
 */
export async function contextSourcesDigest(db: Db, root: string, sources: readonly string[], opts: { dockerignore?: string[]; excludes?: string[] } = {}): Promise<SourceDigest> {
  const tree = new SourceTree(root, (opts.dockerignore?.length ?? 0) > 0 ? new PatternMatcher(opts.dockerignore!) : undefined);
  const exclude = (opts.excludes?.length ?? 0) > 0 ? new PatternMatcher(opts.excludes!) : undefined;
  const entries: Entry[] = [];
  for (const source of sources) {
    for (const m of matchSource(tree, source)) {
      entries.push(describe(m.path, '', m.resolved.path, m.resolved.stat, tree));
      if (isDir(m.resolved.stat)) walk(tree, m.resolved.path, '', exclude, m.path, entries);
    }
  }
  const files = new Map<string, Digest>();
  const learned: Array<{ st: NativeStat; digest: Digest }> = [];
  let bytesRead = 0;
  const withFiles = entries.filter((e) => e.file !== undefined).map((e) => e.file!);
  // What is known is looked up at once; only the rest is read.
  const known = knownFileDigests(db, withFiles.map((f) => f.st));
  const toHash: typeof withFiles = [];
  withFiles.forEach((f, i) => {
    const d = known.get(i);
    if (d !== undefined) files.set(f.path, d);
    else toHash.push(f);
  });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < toHash.length) {
      const f = toHash[next++]!;
      const d = await hashWhole(f.host, f.st.size);
      bytesRead += f.st.size;
      learned.push({ st: f.st, digest: d });
      files.set(f.path, d);
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASHING, toHash.length) }, worker));
  rememberFileDigests(db, learned);
  const text = entries.map((e) => (e.file !== undefined ? `${e.line} ${files.get(e.file.path)!}` : e.line)).join('\n');
  return { digest: digestOf(text), files, bytesRead };
}

/** The entries below directory `dir` (path in the tree), depth first in byte order; `rel` is the path below the source. */
function walk(tree: SourceTree, dir: string, rel: string, exclude: PatternMatcher | undefined, shown: string, out: Entry[]): void {
  for (const name of tree.names(dir)) {
    const path = childPath(dir, name);
    const r = rel === '' ? name : `${rel}/${name}`;
    if (exclude !== undefined && exclude.matchesOrParentMatches(r) && !(exclude.exclusions && isDirPath(tree, path))) continue;
    const st = tree.lstat(path);
    if (st === undefined) continue;
    out.push(describe(`${shown}/${r}`, r, path, st, tree));
    if (isDir(st)) walk(tree, path, r, exclude, shown, out);
  }
}

function isDirPath(tree: SourceTree, path: string): boolean {
  const st = tree.lstat(path);
  return st !== undefined && isDir(st);
}

/** One entry's description line: path below the source, type, permission bits, link target; a file's host path to hash. */
function describe(shown: string, rel: string, path: string, st: NativeStat, tree: SourceTree): Entry {
  const type = st.mode & 0o170000;
  const perm = (st.mode & 0o7777).toString(8);
  const name = JSON.stringify(rel === '' ? shown : rel);
  if (type === 0o100000) return { line: `f ${name} ${perm} ${st.size}`, file: { host: tree.host(path), path: shown, st } };
  if (type === 0o040000) return { line: `d ${name} ${perm}` };
  if (type === 0o120000) return { line: `l ${name} ${JSON.stringify(readlinkSync(tree.host(path)))}` };
  return { line: `o ${name} ${perm} ${type.toString(8)}` };
}

/** The sha256 of a whole file, hashed on the pool. */
async function hashWhole(host: string, size: number): Promise<Digest> {
  const fd = openSync(host, 'r');
  try {
    const h = hashNew('sha256');
    await hashFile(h, fd, 0, size);
    return `sha256:${hashDigest(h)}` as Digest;
  } finally {
    closeSync(fd);
  }
}
