/**
 * COPY --chown and --chmod: what they mean, in Docker 20.10's BuildKit (v0.8) terms, checked
 * against the real docker.
 *
 * --chown=user[:group] (llb.WithUser, then the FileOp's readUser) is looked up in the
 * TARGET root's /etc/passwd and /etc/group, with rules of its own (not runc's):
 * - `root` and decimal numbers are ids; an empty part is id 0 (`:50` is 0:50, `bob:` is bob's uid and gid 0);
 * - a numeric user alone gives uid = gid = that number (`1000` is 1000:1000);
 * - a user name takes uid and primary gid from passwd; an unknown name is silently 0:0;
 * - a group name replaces the gid; an unknown group name leaves the gid as it was;
 * - a name needs the file: no /etc/passwd (or /etc/group for a group name) fails the step.
 *
 * --chmod: octal, as v0.8 has it: the permission bits (mode & 0777) replace the entry's own,
 * its setuid, setgid and sticky bits stay. Symbolic modes (`u+x,go-w`, `a=rX`) are newer
 * BuildKit's (chmod(1) rules with umask 0); v0.8 ignored them silently, as it ignored a
 * value that is not octal (which newer BuildKit, and this module, reject).
 */
import { join as hostJoin } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { readFileInRoot } from '../runtime/rootpath.js';

/** An owner to give every copied entry. */
export interface Owner {
  uid: number;
  gid: number;
}

type Part = { id: number } | { name: string };

/** llb's parseUID: `root` is 0, a decimal that fits in 32 bits is an id, anything else a name ('' is id 0, as llb marshals it). */
function parsePart(s: string, spec: string): Part {
  if (s === 'root' || s === '') return { id: 0 };
  if (/^[+-]?\d+$/.test(s)) {
    const n = Number(s);
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      if (n < 0) throw new InvalidArgumentError(`invalid --chown=${spec}: negative id ${s}`);
      return { id: n };
    }
  }
  return { name: s };
}

/** Fields of the colon-separated lines of a passwd or group file (blank lines and `#` comments skipped, as runc's parser does). */
function records(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function idField(s: string | undefined): number {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : 0;
}

function readDb(targetRoot: string, file: '/etc/passwd' | '/etc/group'): string {
  const text = readFileInRoot(targetRoot, file);
  if (text === undefined) throw new NotFoundError(`open ${hostJoin(targetRoot, file)}: no such file or directory`);
  return text;
}

/**
 * The owner `--chown=spec` gives, looked up in `targetRoot` (the root being copied into) as
 * BuildKit v0.8 does (see the module comment).
 */
export function resolveChown(targetRoot: string, spec: string): Owner {
  const colon = spec.indexOf(':');
  const user = parsePart(colon < 0 ? spec : spec.slice(0, colon), spec);
  const group = colon < 0 ? undefined : parsePart(spec.slice(colon + 1), spec);
  const owner: Owner = { uid: 0, gid: 0 };
  if ('id' in user) {
    owner.uid = user.id;
    owner.gid = user.id;
  } else {
    const entry = records(readDb(targetRoot, '/etc/passwd')).find((f) => f[0] === user.name);
    if (entry !== undefined) {
      owner.uid = idField(entry[2]);
      owner.gid = idField(entry[3]);
    }
  }
  if (group !== undefined) {
    if ('id' in group) owner.gid = group.id;
    else {
      const entry = records(readDb(targetRoot, '/etc/group')).find((f) => f[0] === group.name);
      if (entry !== undefined) owner.gid = idField(entry[2]);
    }
  }
  return owner;
}

/** What --chmod does to an entry's mode bits (0..0o7777, the file type left out). */
export type ModeChange = (mode: number, isDir: boolean) => number;

/**
 * Parse --chmod: octal (v0.8: only the permission bits are replaced) or symbolic (newer
 * BuildKit). InvalidArgumentError in newer BuildKit's words for anything else.
 */
export function parseChmod(spec: string): ModeChange {
  const bad = () => new InvalidArgumentError(`invalid chmod parameter: '${spec}'. it should be octal string and between 0 and 07777`);
  if (/^[0-9]+$/.test(spec)) {
    if (!/^[0-7]+$/.test(spec)) throw bad();
    const perm = parseInt(spec, 8) & 0o777;
    return (mode) => (mode & ~0o777) | perm;
  }
  const clauses = spec.split(',').map((c) => parseClause(c));
  if (clauses.some((c) => c === undefined)) throw bad();
  return (mode, isDir) => clauses.reduce((m, c) => c!(m, isDir), mode);
}

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

/** One `who op perms [op perms...]` clause of a symbolic mode, as chmod(1) reads it with umask 0. */
function parseClause(clause: string): ModeChange | undefined {
  const m = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(clause);
  if (m === null) return undefined;
  const whoMask = m[1] === '' ? WHO.a! : [...m[1]!].reduce((acc, w) => acc | WHO[w]!, 0);
  const ops = [...m[2]!.matchAll(/([-+=])([ugo]|[rwxXst]*)/g)].map((o) => ({ op: o[1]!, perms: o[2]! }));
  return (mode, isDir) => {
    let out = mode;
    for (const { op, perms } of ops) {
      const bits = permBits(perms, out, mode, isDir) & whoMask;
      if (op === '+') out |= bits;
      else if (op === '-') out &= ~bits;
      else out = (out & ~(whoMask & ~(isDir ? 0o6000 : 0))) | bits;
    }
    return out;
  };
}

/** The bits `perms` stands for, in every class (the caller masks them by who). */
function permBits(perms: string, current: number, original: number, isDir: boolean): number {
  if (perms === 'u' || perms === 'g' || perms === 'o') {
    const shift = perms === 'u' ? 6 : perms === 'g' ? 3 : 0;
    const rwx = (current >> shift) & 7;
    return rwx * 0o111;
  }
  let bits = 0;
  for (const p of perms) {
    if (p === 'r') bits |= 0o444;
    else if (p === 'w') bits |= 0o222;
    else if (p === 'x') bits |= 0o111;
    else if (p === 'X' && (isDir || (original & 0o111) !== 0)) bits |= 0o111;
    else if (p === 's') bits |= 0o6000;
    else if (p === 't') bits |= 0o1000;
  }
  return bits;
}
