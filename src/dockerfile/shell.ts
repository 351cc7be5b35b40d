/**
 * Shell-style word expansion for Dockerfile arguments, following BuildKit's shell.Lex
 * (frontend/dockerfile/shell/lex.go): quote removal, escape processing, `$VAR` / `${VAR}`
 * substitution with the POSIX modifiers BuildKit supports (`-`, `+`, `?` with and without
 * `:`, `#`, `##`, `%`, `%%`, `/`, `//`), and word splitting of the result.
 *
 * This module owns only the word-level language; which instruction expands which argument
 * is decided by the instruction layer. It also exports the small Go-compatible character
 * helpers (`isSpace`, `trimSpace`) the parser shares, so both agree on what "space" means.
 */
import { InvalidArgumentError } from '../errors.js';
import type { EnvGetter, ExpansionResult } from './ast.js';
import { goQuote } from './dump.js';

/** Go's unicode.IsSpace: ASCII whitespace, NEL, NBSP and the Unicode Z-category spaces. */
export function isSpace(cp: number): boolean {
  switch (cp) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

/** Go's strings.TrimLeftFunc(s, unicode.IsSpace). */
export function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

/** Go's strings.TrimSpace (Unicode whitespace on both ends). */
export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

function isLetter(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return LETTER.test(ch);
}

function isDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return DIGIT.test(ch);
}

function isSpaceChar(ch: string): boolean {
  return isSpace(ch.codePointAt(0) ?? 0);
}

/** An environment built from name/value pairs; a name given twice keeps its last value. */
export function envFromPairs(pairs: Array<[string, string]> | Record<string, string>): EnvGetter {
  const entries = Array.isArray(pairs) ? pairs : Object.entries(pairs);
  const map = new Map<string, string>();
  for (const [k, v] of entries) map.set(k, v);
  const keys = [...map.keys()];
  return {
    get: (name: string) => map.get(name),
    keys: () => keys.slice(),
  };
}

/** Raised inside the lexer; converted to InvalidArgumentError at the public boundary. */
class LexError extends Error {}

/** Word accumulator for ProcessWords (BuildKit's wordsStruct). */
class Words {
  private buf = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpaceChar(ch)) {
      if (this.inWord && this.buf.length !== 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.buf += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  getWords(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const EOF = '';
/** Deepest `${...${...}}` nesting accepted. */
const MAX_NESTING = 1000;

/** One expansion run over one word (BuildKit's shellWord). */
class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  private depth = 0;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    private readonly lex: Lexer,
    word: string,
    private readonly env: EnvGetter,
    private readonly capture: boolean,
  ) {
    this.chars = Array.from(word);
    // text/scanner skips a byte-order mark at the very start of its input.
    if (this.chars[0] === '\uFEFF') this.pos = 1;
    this.rawEscapes = lex.rawEscapes;
  }

  private peek(): string {
    return this.pos < this.chars.length ? (this.chars[this.pos] as string) : EOF;
  }

  private next(): string {
    if (this.pos < this.chars.length) return this.chars[this.pos++] as string;
    return EOF;
  }

  run(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stopChar: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      const quotes = !this.lex.skipProcessQuotes;
      const esc = this.lex.escapeToken;
      for (;;) {
        const ch = this.peek();
        if (ch === EOF) break;
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { result, words: words.getWords() };
        }
        if (ch === '$') {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (quotes && ch === "'") {
          const tmp = this.processSingleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else if (quotes && ch === '"') {
          const tmp = this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          let c = this.next();
          if (c === esc) {
            if (this.rawEscapes) {
              words.addRawChar(c);
              result += c;
            }
            // The escape token escapes the next character, except at the end of the word.
            c = this.next();
            if (c === EOF) break;
            words.addRawChar(c);
          } else {
            words.addChar(c);
          }
          result += c;
        }
      }
      if (stopChar !== EOF) {
        throw new LexError(`unexpected end of statement while looking for matching ${stopChar}`);
      }
      return { result, words: words.getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // Everything between single quotes is literal; a single quote cannot be escaped.
    let result = '';
    let ch = this.next();
    if (this.lex.rawQuotes) result += ch;
    for (;;) {
      ch = this.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.lex.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    // Literal except `$` expansions; the escape token only escapes `"`, `$` and itself.
    let result = '';
    const esc = this.lex.escapeToken;
    let ch = this.next();
    if (this.lex.rawQuotes) result += ch;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        ch = this.next();
        if (this.lex.rawQuotes) result += ch;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      ch = this.next();
      if (ch === esc) {
        if (this.rawEscapes) result += ch;
        const n = this.peek();
        if (n === EOF) continue; // an escape at the end of the word is dropped
        if (n === '"' || n === '$' || n === esc) ch = this.next();
      }
      result += ch;
    }
  }

  private getEnv(name: string): { value: string; set: boolean } {
    const v = this.env.get(name);
    if (v !== undefined) {
      if (this.capture) this.matched.add(name);
      return { value: v, set: true };
    }
    if (this.capture) this.unmatched.add(name);
    return { value: '', set: false };
  }

  private processDollar(): string {
    // Go's growable stacks take any nesting; ours does not, so refuse absurd depths.
    if (++this.depth > MAX_NESTING) throw new LexError('syntax error: substitutions nested too deeply');
    try {
      return this.processDollarInner();
    } finally {
      this.depth--;
    }
  }

  private processDollarInner(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.getEnv(name);
      if (!set && this.lex.skipUnsetEnv) return '$' + name;
      return value;
    }

    this.next();
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');

    const name = this.processName();
    let ch = this.next();
    let chs = ch === EOF ? '\uFFFD' : ch;
    let nullIsUnset = false;

    if (ch === '}') {
      const { value, set } = this.getEnv(name);
      if (!set && this.lex.skipUnsetEnv) return '${' + name + '}';
      return value;
    }
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      chs += ch === EOF ? '\uFFFD' : ch;
    }
    if (nullIsUnset || ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      const rawEscapes = ch === '#' || ch === '%';
      if (nullIsUnset && rawEscapes) throw new LexError(`unsupported modifier (${chs}) in substitution`);
      let word: string;
      try {
        word = this.processStopOn('}', rawEscapes).result;
      } catch (err) {
        if (err instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '}'");
        throw err;
      }
      const { value, set } = this.getEnv(name);
      if (this.lex.skipUnsetEnv && !set) return '${' + name + chs + word + '}';

      switch (ch) {
        case '-':
          return !set || (nullIsUnset && value === '') ? word : value;
        case '+':
          return !set || (nullIsUnset && value === '') ? '' : word;
        case '?':
          if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
          if (nullIsUnset && value === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
          return value;
        case '%':
        case '#': {
          // `#`/`%` remove the shortest match, `##`/`%%` the longest.
          let greedy = false;
          if (word.length > 0 && word[0] === ch) {
            greedy = true;
            word = word.slice(1);
          }
          return ch === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
        }
        default:
          throw new LexError(`unsupported modifier (${chs}) in substitution`);
      }
    }
    if (ch === '/') {
      const all = this.peek() === '/';
      if (all) this.next();
      let pattern: string;
      try {
        pattern = this.processStopOn('/', true).result;
      } catch (err) {
        if (err instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '/' in ${}");
        throw err;
      }
      let replacement: string;
      try {
        replacement = this.processStopOn('}', true).result;
      } catch (err) {
        if (err instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '}'");
        throw err;
      }
      const { value, set } = this.getEnv(name);
      if (this.lex.skipUnsetEnv && !set) return '${' + name + '/' + pattern + '/' + replacement + '}';
      return all ? replaceAll(pattern, value, replacement) : replaceFirst(pattern, value, replacement);
    }
    throw new LexError(`unsupported modifier (${chs}) in substitution`);
  }

  private processName(): string {
    // A name is letters, digits and `_`; a leading digit reads digits only (positional
    // parameters); a special parameter ($@, $*, $#, ...) is one character.
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) break;
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }
}

function isSpecialParam(ch: string): boolean {
  return ch.length === 1 && '@*#?-$!0'.includes(ch);
}

// ---------------------------------------------------------------------------------------
// Shell patterns (`*`, `?`, `\` escapes; no bracket expressions). BuildKit turns them into
// Go regular expressions (convertShellPatternToRegex) and relies on RE2's leftmost-first
// matching. We simulate exactly that with a small Pike VM over code points: same results,
// linear time, no backtracking blow-ups on patterns like `*a*a*a*b`.
// ---------------------------------------------------------------------------------------

const STAR = 0;
const ANY = 1;
const LIT = 2;
type Tok = { kind: typeof STAR | typeof ANY } | { kind: typeof LIT; ch: string };

interface Glob {
  toks: Tok[];
  /** `*` prefers to consume (Go `.*`) rather than to stop (Go `.*?`). */
  greedy: boolean;
}

function compileGlob(pattern: string, greedy: boolean): Glob {
  const chars = Array.from(pattern);
  const toks: Tok[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      // Consecutive stars match exactly what one star matches.
      if (toks.length === 0 || (toks[toks.length - 1] as Tok).kind !== STAR) toks.push({ kind: STAR });
      continue;
    }
    if (c === '?') {
      toks.push({ kind: ANY });
      continue;
    }
    if (c === '\\') {
      const nx = chars[i + 1];
      // `}` and `/` are escaped only to get them through ${...}; the escape is not part of the pattern.
      if (nx === '}' || nx === '/') continue;
      i++;
      if (nx !== '*' && nx !== '?' && nx !== '\\') {
        throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${nx ?? ''}'`);
      }
      toks.push({ kind: LIT, ch: nx });
      continue;
    }
    toks.push({ kind: LIT, ch: c });
  }
  return { toks, greedy };
}

/**
 * Leftmost-first match of `g` in `s` (code points) starting at or after `from` (only at
 * `from` when anchored). Returns [start, end) in code points, or null.
 */
function globFind(g: Glob, s: string[], from: number, anchored: boolean): [number, number] | null {
  const { toks, greedy } = g;
  const m = toks.length;
  const seen = new Int32Array(m + 1).fill(-1);
  let gen = 0;
  // A thread is (pc, start); pc === m means "matched".
  let cpc: number[] = [];
  let cstart: number[] = [];
  const add = (pcs: number[], starts: number[], pc: number, start: number): void => {
    // Epsilon closure in priority order. Stars were collapsed, so a star's closure
    // recurses at most one level.
    if (seen[pc] === gen) return;
    seen[pc] = gen;
    if (pc < m && (toks[pc] as Tok).kind === STAR) {
      if (greedy) {
        pcs.push(pc);
        starts.push(start);
        add(pcs, starts, pc + 1, start);
      } else {
        add(pcs, starts, pc + 1, start);
        pcs.push(pc);
        starts.push(start);
      }
      return;
    }
    pcs.push(pc);
    starts.push(start);
  };
  let matched: [number, number] | null = null;
  for (let i = from; ; i++) {
    if (matched === null && (i === from || !anchored)) add(cpc, cstart, 0, i);
    if (cpc.length === 0) break;
    gen++;
    const npc: number[] = [];
    const nstart: number[] = [];
    const ch = i < s.length ? (s[i] as string) : undefined;
    for (let t = 0; t < cpc.length; t++) {
      const pc = cpc[t] as number;
      const start = cstart[t] as number;
      if (pc === m) {
        matched = [start, i];
        break; // lower-priority threads lose to this match
      }
      if (ch === undefined) continue;
      const tok = toks[pc] as Tok;
      if (tok.kind === LIT) {
        if (tok.ch === ch) add(npc, nstart, pc + 1, start);
      } else if (ch !== '\n') {
        add(npc, nstart, tok.kind === STAR ? pc : pc + 1, start);
      }
    }
    if (ch === undefined) break;
    cpc = npc;
    cstart = nstart;
  }
  return matched;
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const s = Array.from(value);
  const m = globFind(compileGlob(pattern, greedy), s, 0, true);
  return m === null ? value : s.slice(m[1]).join('');
}

/** Reverses a pattern by code point, keeping each `\x` escape pair in order. */
export function reversePattern(pattern: string): string {
  const runes = Array.from(pattern);
  const out = new Array<string>(runes.length);
  const last = runes.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = runes[i] as string;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = runes[i + 1] as string;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // Leftmost matching cannot find the shortest rightmost match, so reverse both the
  // pattern and the value and trim a prefix instead.
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

/** `${VAR/pat/repl}`: the first match, replaced literally. */
function replaceFirst(pattern: string, value: string, replacement: string): string {
  const s = Array.from(value);
  const m = globFind(compileGlob(pattern, true), s, 0, false);
  if (m === null) return value;
  return s.slice(0, m[0]).join('') + replacement + s.slice(m[1]).join('');
}

/** `${VAR//pat/repl}`: Go's Regexp.ReplaceAllString, with its `$` template and empty-match rules. */
function replaceAll(pattern: string, value: string, template: string): string {
  const g = compileGlob(pattern, true);
  const s = Array.from(value);
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= s.length) {
    const a = globFind(g, s, searchPos, false);
    if (a === null) break;
    out += s.slice(lastMatchEnd, a[0]).join('');
    if (a[1] > lastMatchEnd || a[0] === 0) out += expandTemplate(template, s.slice(a[0], a[1]).join(''));
    lastMatchEnd = a[1];
    searchPos = searchPos + 1 > a[1] ? searchPos + 1 : a[1];
  }
  return out + s.slice(lastMatchEnd).join('');
}

/** Go's Regexp.Expand for a regexp without capture groups: only `$0` / `${0}` has a value. */
function expandTemplate(template: string, whole: string): string {
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length && isNameByte(template.charCodeAt(j))) j++;
    const name = template.slice(nameStart, j);
    if (name === '' || (brace && template[j] !== '}')) {
      out += '$'; // malformed: the `$` is literal
      continue;
    }
    i = brace ? j + 1 : j;
    if (/^[0-9]+$/.test(name) && Number(name) === 0) out += whole;
  }
  return out;
}

function isNameByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/**
 * BuildKit's shell.Lex. Options are plain fields, as in Go:
 * - `rawQuotes`: keep quote characters in the result (quotes still group words).
 * - `rawEscapes`: keep escape characters in the result.
 * - `skipProcessQuotes`: treat quotes as ordinary characters.
 * - `skipUnsetEnv`: leave references to unset variables unexpanded (`$X`, `${X:-y}` as written).
 */
export class Lexer {
  readonly escapeToken: string;
  rawQuotes = false;
  rawEscapes = false;
  skipProcessQuotes = false;
  skipUnsetEnv = false;

  constructor(escapeToken: string = '\\') {
    this.escapeToken = escapeToken;
  }

  /** Expands one word: quote removal, escapes, variable substitution. */
  processWord(word: string, env: EnvGetter): string {
    return this.run(word, env, true).result;
  }

  /** Like processWord, also reporting which referenced variables were set and unset. */
  processWordWithMatches(word: string, env: EnvGetter): ExpansionResult {
    const sw = new ShellWord(this, word, env, true);
    const { result } = this.exec(sw, word);
    return { result, matched: sw.matched, unmatched: sw.unmatched };
  }

  /** Expands, then splits on unquoted whitespace (including whitespace from unquoted variables). */
  processWords(word: string, env: EnvGetter): string[] {
    return this.run(word, env, false).words;
  }

  private run(word: string, env: EnvGetter, capture: boolean): { result: string; words: string[] } {
    return this.exec(new ShellWord(this, word, env, capture), word);
  }

  private exec(sw: ShellWord, word: string): { result: string; words: string[] } {
    try {
      return sw.run();
    } catch (err) {
      if (err instanceof LexError) {
        throw new InvalidArgumentError(`failed to process ${goQuote(word)}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}
