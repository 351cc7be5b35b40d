/**
 * The source side of COPY: naming what a COPY source means in a source root, the way
 * Docker 20.10's BuildKit (v0.8: dockerfile2llb, its FileOp, fsutil's copy and the content
 * hash that computes the step's cache key) does, checked against the real docker:
 *
 * - a source is taken from the root: `..` never climbs out of it, and symlinks on the way,
 *   the last component included, are followed inside it (continuity's RootPath: an absolute
 *   target starts again at the root);
 * - a source without wildcards that is not there fails the step before anything is written:
 *   `failed to compute cache key: "/nosuch.txt" not found: not found`, naming the path as
 *   resolved (a symlink to ../../etc/passwd is reported as "/etc/passwd");
 * - wildcards (Go's filepath.Match syntax) start at the first component that has one; what
 *   they match may be nothing at all (no error, nothing written); a match that is a dangling
 *   symlink fails like a missing source;
 * - a build context is seen as BuildKit receives it: what .dockerignore excludes is not there
 *   (a directory it excludes is there only when an exception re-includes something inside).
 *
 * This module owns that resolution and the Go pattern matcher; copy.ts does the writing.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { join as hostJoin } from 'node:path';
import { CairnError, NotFoundError, errnoCode } from '../errors.js';
import { cleanPath, type PatternMatcher } from '../dockerfile/dockerignore.js';
import { constants as C, fstatat, type NativeStat } from '../native/index.js';

/** How many symlinks one source resolution follows (continuity's RootPath gives up after 255). */
const MAX_LINKS = 255;

/** A COPY source that does not exist in the source root, in BuildKit's words. */
export class CopySourceNotFoundError extends NotFoundError {
  /** The missing path as resolved in the source root ("/nosuch.txt"). */
  readonly path: string;
  /** What BuildKit prints on the step's ERROR line: `"/nosuch.txt" not found: not found`. */
  readonly detail: string;
  constructor(path: string) {
    const detail = `${JSON.stringify(path)} not found: not found`;
    super(`failed to compute cache key: ${detail}`);
    this.name = 'CopySourceNotFoundError';
    this.path = path;
    this.detail = detail;
  }
}

/** A path resolved in a source root. */
export interface ResolvedSource {
  /** Absolute, clean, symlink-free path in the root ('/' for the root itself). */
  path: string;
  /** The same on the host. */
  hostPath: string;
  /** lstat of what is there (never a symlink once followed); undefined when missing. */
  stat: NativeStat | undefined;
}

/**
 * A root to copy from: a build context directory (seen through its .dockerignore) or the
 * root filesystem of an earlier stage or image.
 */
export class SourceTree {
  constructor(
    readonly root: string,
    /** The .dockerignore of a build context (its patterns are relative to the context root). */
    private readonly ignore?: PatternMatcher,
  ) {}

  /** The host path of a clean absolute path in the root. */
  host(path: string): string {
    return path === '/' ? this.root : hostJoin(this.root, path);
  }

  /** lstat of an entry, or undefined when it is missing or hidden by .dockerignore. */
  lstat(path: string): NativeStat | undefined {
    let st: NativeStat;
    try {
      st = fstatat(C.AT_FDCWD, this.host(path), C.AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new CairnError('internal', `cannot stat ${JSON.stringify(path)} in the source: ${(e as Error).message}`, { cause: e });
    }
    return this.visible(path, st) ? st : undefined;
  }

  /** Whether .dockerignore lets `path` into the context. */
  visible(path: string, st: NativeStat): boolean {
    if (this.ignore === undefined || path === '/') return true;
    const rel = path.slice(1);
    if (!this.ignore.matchesOrParentMatches(rel)) return true;
    // An excluded directory is sent only to hold what an exception (`!pattern`) re-includes.
    return isDir(st) && this.ignore.exclusions && this.hasVisibleChild(path);
  }

  /** Whether .dockerignore excludes `path` (relative walks use this to skip it). */
  ignored(path: string): boolean {
    return this.ignore !== undefined && path !== '/' && this.ignore.matchesOrParentMatches(path.slice(1));
  }

  /** Whether .dockerignore lets exceptions re-include things below an excluded directory. */
  get ignoreHasExceptions(): boolean {
    return this.ignore !== undefined && this.ignore.exclusions;
  }

  private hasVisibleChild(dir: string): boolean {
    return this.names(dir).some((name) => this.lstat(childPath(dir, name)) !== undefined);
  }

  /** The names in a directory, sorted as Go's ReadDir sorts them (byte order). */
  names(dir: string): string[] {
    try {
      return readdirSync(this.host(dir)).sort(byteOrder);
    } catch (e) {
      throw new CairnError('internal', `cannot read directory ${JSON.stringify(dir)} in the source: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Resolve `path` in the root as continuity's RootPath does: `..` stops at the root, each
   * symlink is followed (an absolute one from the root), and what follows a missing component
   * is taken as written. `followLast` false leaves a symlink in the last component unresolved.
   */
  resolve(path: string, followLast = true): ResolvedSource {
    const pending = path.split('/');
    const done: string[] = [];
    let missing = false;
    let links = 0;
    while (pending.length > 0) {
      const c = pending.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        done.pop();
        continue;
      }
      if (missing) {
        done.push(c);
        continue;
      }
      const here = `/${[...done, c].join('/')}`;
      const st = this.lstat(here);
      const last = pending.every((p) => p === '' || p === '.');
      if (st === undefined) {
        missing = true;
      } else if (isLink(st) && (followLast || !last)) {
        if (++links > MAX_LINKS) throw new CairnError('invalid-argument', `cannot resolve ${JSON.stringify(path)} in the source: too many links`);
        const target = readlinkSync(this.host(here));
        if (target.startsWith('/')) done.length = 0;
        pending.unshift(...target.split('/'));
        continue;
      } else if (!isDir(st) && !last) {
        // A file on the way: nothing can be below it.
        missing = true;
      }
      done.push(c);
    }
    const resolved = `/${done.join('/')}`;
    return { path: resolved, hostPath: this.host(resolved), stat: missing ? undefined : this.lstat(resolved) };
  }
}

/** Whether a stat is of a directory. */
export function isDir(st: NativeStat): boolean {
  return (st.mode & C.S_IFMT) === C.S_IFDIR;
}

function isLink(st: NativeStat): boolean {
  return (st.mode & C.S_IFMT) === C.S_IFLNK;
}

/** `name` in directory `dir` (both in-root paths). */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One thing a COPY source names: the path as matched (its base name names a copied file) and what it resolves to. */
export interface SourceMatch {
  /** The path as written or matched, clean and absolute, symlinks not followed ("/linkf"). */
  path: string;
  /** What it is once symlinks are followed: never missing. */
  resolved: ResolvedSource & { stat: NativeStat };
}

/**
 * What one COPY source names in `tree`: its matches, in Go's walk order (empty when a
 * wildcard matches nothing). A missing source, or a match that is a dangling symlink, throws
 * {@link CopySourceNotFoundError} (as BuildKit's cache key does, before anything is copied).
 */
export function matchSource(tree: SourceTree, source: string): SourceMatch[] {
  const [base, pattern] = splitWildcards(source);
  if (pattern === '') return [found(tree, base)];
  const dir = tree.resolve(base);
  if (dir.stat === undefined || !isDir(dir.stat)) return [];
  const out: SourceMatch[] = [];
  walkMatches(tree, dir.path, '', pattern, out);
  return out;
}

function found(tree: SourceTree, path: string): SourceMatch {
  const resolved = tree.resolve(path);
  if (resolved.stat === undefined) throw new CopySourceNotFoundError(resolved.path);
  return { path, resolved: { ...resolved, stat: resolved.stat } };
}

/** filepath.Walk below `dir` (symlinks not entered), keeping what matches `pattern`; a matched directory is not entered. */
function walkMatches(tree: SourceTree, dir: string, rel: string, pattern: string, out: SourceMatch[]): void {
  for (const name of tree.names(dir)) {
    const path = childPath(dir, name);
    const st = tree.lstat(path);
    if (st === undefined) continue;
    const r = rel === '' ? name : `${rel}/${name}`;
    if (goMatch(pattern, r)) {
      out.push(found(tree, path));
      continue;
    }
    if (isDir(st)) walkMatches(tree, path, r, pattern, out);
  }
}

/** Whether a path component holds a wildcard (`\` escapes the next character). */
export function hasWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/**
 * fsutil's splitWildcards: the clean absolute path before the first component with a
 * wildcard, and the rest ('' when there is no wildcard).
 */
export function splitWildcards(source: string): [string, string] {
  const parts = cleanPath(`/${source}`).split('/').slice(1);
  const i = parts.findIndex(hasWildcards);
  if (i < 0) return [cleanPath(`/${parts.join('/')}`), ''];
  return [cleanPath(`/${parts.slice(0, i).join('/')}`), parts.slice(i).join('/')];
}

// ---------------------------------------------------------------------------
// Go's path/filepath.Match, ported: `*` and `?` never match '/', `[^a-z]` classes, `\` escapes.
// A malformed pattern matches nothing (fsutil ignores Match's error).

const BAD = Symbol('bad pattern');

/** Go's filepath.Match(pattern, name), false for a malformed pattern. */
export function goMatch(pattern: string, name: string): boolean {
  const r = match([...pattern], [...name]);
  return r === true;
}

function match(pattern: string[], name: string[]): boolean | typeof BAD {
  let p = pattern;
  let s = name;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) return !s.includes('/');
    const t = matchChunk(chunk, s);
    if (t !== BAD && t !== false && (t.length === 0 || p.length > 0)) {
      s = t;
      continue;
    }
    if (t === BAD) return BAD;
    if (star) {
      for (let i = 0; i < s.length && s[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, s.slice(i + 1));
        if (t2 === BAD) return BAD;
        if (t2 !== false) {
          if (p.length === 0 && t2.length > 0) continue;
          s = t2;
          continue outer;
        }
      }
    }
    return false;
  }
  return s.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let i0 = 0;
  while (i0 < pattern.length && pattern[i0] === '*') i0++;
  const p = pattern.slice(i0);
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') {
      if (i + 1 < p.length) i++;
    } else if (ch === '[') inRange = true;
    else if (ch === ']') inRange = false;
    else if (ch === '*' && !inRange) break;
  }
  return { star: i0 > 0, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** The rest of `s` after `chunk` matched its start, false when it does not, BAD for a malformed chunk. */
function matchChunk(chunk: string[], s: string[]): string[] | false | typeof BAD {
  let c = chunk;
  let failed = false;
  while (c.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const head = c[0]!;
    if (head === '[') {
      const r = failed ? '' : s[0]!;
      if (!failed) s = s.slice(1);
      c = c.slice(1);
      let negated = false;
      if (c[0] === '^') {
        negated = true;
        c = c.slice(1);
      }
      let matched = false;
      let n = 0;
      for (;;) {
        if (c[0] === ']' && n > 0) {
          c = c.slice(1);
          break;
        }
        const lo = getEsc(c);
        if (lo === BAD) return BAD;
        c = lo.rest;
        let hi = lo.ch;
        if (c[0] === '-') {
          const h = getEsc(c.slice(1));
          if (h === BAD) return BAD;
          c = h.rest;
          hi = h.ch;
        }
        const cp = r.codePointAt(0);
        if (cp !== undefined && lo.ch.codePointAt(0)! <= cp && cp <= hi.codePointAt(0)!) matched = true;
        n++;
      }
      if (matched === negated) failed = true;
    } else if (head === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      c = c.slice(1);
    } else {
      if (head === '\\') {
        c = c.slice(1);
        if (c.length === 0) return BAD;
      }
      if (!failed) {
        if (c[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      c = c.slice(1);
    }
  }
  return failed ? false : s;
}

function getEsc(chunk: string[]): { ch: string; rest: string[] } | typeof BAD {
  let c = chunk;
  if (c.length === 0 || c[0] === '-' || c[0] === ']') return BAD;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) return BAD;
  }
  const ch = c[0]!;
  const rest = c.slice(1);
  if (rest.length === 0) return BAD;
  return { ch, rest };
}
