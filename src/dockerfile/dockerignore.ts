/**
 * `.dockerignore` files: parsing them (moby/patternmatcher/ignorefile ReadAll), naming
 * the ones that may apply to a build (`<Dockerfile name>.dockerignore` beside the Dockerfile wins
 * over `.dockerignore` at the context root, as BuildKit's dockerui does), and matching paths
 * with Docker's rules (a port of moby/patternmatcher):
 *
 * - patterns are cleaned like Go's filepath.Clean and anchored at the context root, so
 *   `*.md` matches `README.md` but not `docs/README.md`;
 * - `*` and `?` never match `/`; `**` matches any number of directories (also none);
 * - `!pattern` re-includes what earlier patterns excluded; the last matching pattern wins;
 * - `matchesOrParentMatches` also counts a path as matched when one of its parent
 *   directories is (so `docs` excludes `docs/a/b.txt`).
 */
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Go's path.Clean for slash-separated paths. */
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
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/**
 * Parse `.dockerignore` text into patterns (ignorefile.ReadAll): a UTF-8 BOM is dropped,
 * lines starting with `#` are comments, whitespace is trimmed, patterns are cleaned and a
 * leading `/` removed; `!` exceptions keep their `!`.
 */
export function parseDockerignore(text: string): string[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let pattern = raw.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? '!' + pattern : pattern);
  }
  return out;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface Pattern {
  cleaned: string;
  exclusion: boolean;
  type: MatchType;
  re?: RegExp;
}

const REGEXP_SPECIALS = '.+()|{}$^';

/**
 * Compile one cleaned pattern the way patternmatcher's Pattern.compile does: exact, prefix
 * (`dir/**`), suffix (a leading double star) or a regular expression. `iter` counts loop iterations, not
 * characters, exactly like the Go loop (so only a pattern *starting* with `**` is a suffix).
 */
function compilePattern(cleaned: string, exclusion: boolean): Pattern {
  const chars = [...cleaned];
  let re = '^';
  let type: MatchType = 'exact';
  let pos = 0;
  for (let iter = 0; pos < chars.length; iter++) {
    const ch = chars[pos++] as string;
    if (ch === '*') {
      if (chars[pos] === '*') {
        pos++;
        // a double star followed by a slash is treated as a double star
        if (chars[pos] === '/') pos++;
        if (pos >= chars.length) {
          // trailing `**`: match everything below, like .gitignore
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          // any number of directories, also none
          re += '(.*/)?';
          type = 'regexp';
        }
        if (iter === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (REGEXP_SPECIALS.includes(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      const next = chars[pos];
      if (next !== undefined) {
        re += /[\^$.*+?()[\]{}|\\/]/.test(next) ? '\\' + next : next;
        pos++;
      } else {
        re += '\\\\';
      }
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  const p: Pattern = { cleaned, exclusion, type };
  if (type === 'regexp') {
    try {
      p.re = new RegExp(re + '$', 'u');
    } catch (err) {
      throw new InvalidArgumentError(`invalid .dockerignore pattern ${JSON.stringify(cleaned)}: syntax error in pattern`, { cause: err });
    }
  }
  return p;
}

function matchPattern(p: Pattern, file: string): boolean {
  switch (p.type) {
    case 'exact':
      return file === p.cleaned;
    case 'prefix':
      return file.startsWith(p.cleaned.slice(0, -2));
    case 'suffix': {
      const suffix = p.cleaned.slice(2);
      if (file.endsWith(suffix)) return true;
      // a leading double star and slash also matches the bare name
      return suffix.startsWith('/') && file === suffix.slice(1);
    }
    case 'regexp':
      return p.re !== undefined && p.re.test(file);
  }
}

/** Docker's PatternMatcher over a list of `.dockerignore` patterns. */
export class PatternMatcher {
  private readonly patterns: Pattern[] = [];
  readonly exclusions: boolean = false;

  constructor(patterns: string[]) {
    for (let raw of patterns) {
      raw = raw.trim();
      if (raw === '') continue;
      let p = cleanPath(raw);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new InvalidArgumentError('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
        this.exclusions = true;
      }
      if (/\[[^\]]*$/.test(p)) {
        throw new InvalidArgumentError(`invalid .dockerignore pattern ${JSON.stringify(p)}: syntax error in pattern`);
      }
      this.patterns.push(compilePattern(p, exclusion));
    }
  }

  get size(): number {
    return this.patterns.length;
  }

  /** True when `file` (slash-separated, relative to the context) is excluded by the patterns alone. */
  matches(file: string): boolean {
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      if (matchPattern(p, file)) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * True when `file` or one of its parent directories is excluded (patternmatcher's
   * MatchesOrParentMatches): what BuildKit uses to decide that a COPY source is ignored.
   */
  matchesOrParentMatches(file: string): boolean {
    const parent = path.posix.dirname(file);
    const parentDirs = parent.split('/');
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = matchPattern(p, file);
      if (!match && parent !== '.') {
        for (let i = 0; i < parentDirs.length; i++) {
          if (matchPattern(p, parentDirs.slice(0, i + 1).join('/'))) {
            match = true;
            break;
          }
        }
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }
}

/**
 * The ignore files that may apply to a build, in order of precedence:
 * `<dockerfile basename>.dockerignore` next to the Dockerfile, then `<contextDir>/.dockerignore`.
 * The caller reads the first one that exists and gives its text to parseDockerignore.
 */
export function dockerignoreCandidates(contextDir: string, dockerfilePath?: string): string[] {
  const candidates: string[] = [];
  if (dockerfilePath !== undefined) {
    candidates.push(path.join(path.dirname(dockerfilePath), path.basename(dockerfilePath) + '.dockerignore'));
  }
  candidates.push(path.join(contextDir, '.dockerignore'));
  return candidates;
}
