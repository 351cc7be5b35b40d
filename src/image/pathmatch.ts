/**
 * Go's path.Match (Go 1.19+, the Go Docker 20.10.24 is built with), ported as written: `*`
 * matches any run of characters but `/`, `?` one character but `/`, `[...]` a class of
 * characters and ranges (`^` negates; a class may match `/`), `\` escapes the next character.
 * A malformed pattern is ErrBadPattern, "syntax error in pattern" — also when the name did not
 * match (Go checks the rest of the pattern before answering false). Pure. `images -f
 * reference=` matches with it, as Docker's reference.FamiliarMatch does.
 */
import { InvalidArgumentError } from '../errors.js';

function badPattern(): InvalidArgumentError {
  return new InvalidArgumentError('syntax error in pattern');
}

/** Whether `name` matches the whole of `pattern`; InvalidArgumentError for a malformed pattern. */
export function pathMatch(pattern: string, name: string): boolean {
  let p = pattern;
  let n = name;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk === '') return !n.includes('/'); // a trailing * matches the rest unless it has a /
    const here = matchChunk(chunk, n);
    if (here !== undefined && (here.length === 0 || p.length > 0)) {
      n = here;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t = matchChunk(chunk, n.slice(i + 1));
        if (t !== undefined) {
          if (p.length === 0 && t.length > 0) continue;
          n = t;
          continue outer;
        }
      }
    }
    // Before answering false, the rest of the pattern must be well-formed.
    while (p.length > 0) {
      const next = scanChunk(p);
      p = next.rest;
      matchChunk(next.chunk, '');
    }
    return false;
  }
  return n.length === 0;
}

function scanChunk(pattern: string): { star: boolean; chunk: string; rest: string } {
  let p = pattern;
  let star = false;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i + 1 < p.length) i++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) break;
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** Go's getEsc: one (possibly escaped) character of a class, and what follows it. */
function getEsc(chunk: string): { r: string; rest: string } {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw badPattern();
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw badPattern();
  }
  const r = String.fromCodePoint(c.codePointAt(0)!);
  const rest = c.slice(r.length);
  if (rest.length === 0) throw badPattern();
  return { r, rest };
}

/** Go's matchChunk: what is left of `s` after `chunk` matched its start, or undefined. */
function matchChunk(chunk: string, str: string): string | undefined {
  let c = chunk;
  let s = str;
  let failed = false;
  while (c.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const head = c[0]!;
    if (head === '[') {
      let r = -1;
      if (!failed) {
        r = s.codePointAt(0)!;
        s = s.slice(String.fromCodePoint(r).length);
      }
      c = c.slice(1);
      let negated = false;
      if (c.length > 0 && c[0] === '^') {
        negated = true;
        c = c.slice(1);
      }
      let match = false;
      let ranges = 0;
      for (;;) {
        if (c.length > 0 && c[0] === ']' && ranges > 0) {
          c = c.slice(1);
          break;
        }
        const lo = getEsc(c);
        c = lo.rest;
        let hi = lo.r;
        if (c[0] === '-') {
          const h = getEsc(c.slice(1));
          c = h.rest;
          hi = h.r;
        }
        if (lo.r.codePointAt(0)! <= r && r <= hi.codePointAt(0)!) match = true;
        ranges++;
      }
      if (match === negated) failed = true;
    } else if (head === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(String.fromCodePoint(s.codePointAt(0)!).length);
      }
      c = c.slice(1);
    } else {
      if (head === '\\') {
        c = c.slice(1);
        if (c.length === 0) throw badPattern();
      }
      if (!failed) {
        if (c[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      c = c.slice(1);
    }
  }
  return failed ? undefined : s;
}
