/**
 * The Dockerfile parser: text in, syntax tree (ast.ts) out, with the same tree BuildKit's
 * frontend/dockerfile/parser builds. It owns the whole-file rules (parser directives,
 * comments, line continuations with the active escape character, heredoc bodies, line
 * positions) and the per-instruction argument shapes of BuildKit's line parsers
 * (JSON vs shell form, ENV/LABEL pairs, ARG words, HEALTHCHECK, ONBUILD, `--flags`).
 * It does no variable expansion and no instruction validation: that is the instruction
 * layer's job, working from this tree.
 *
 * All scanning is hand-written and linear in the input; the only regular expressions are
 * small anchored ones without nested quantifiers.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Directives, EnvGetter, Heredoc, Node, ParseResult, ParseWarning } from './ast.js';
import { goQuote } from './dump.js';
import { isSpace, Lexer, trimLeftSpace, trimSpace } from './shell.js';

/** A heredoc as BuildKit records it: the ast.ts fields plus the redirected descriptor (`3<<EOF`). */
export interface ParsedHeredoc extends Heredoc {
  /** The digits before `<<`, 0 when absent. */
  fileDescriptor: number;
}

/** A Dockerfile syntax error; `line` is the first line of the offending instruction (1-based). */
export class DockerfileSyntaxError extends InvalidArgumentError {
  readonly line: number;
  readonly endLine: number;
  readonly detail: string;
  constructor(detail: string, line: number, endLine: number = line) {
    super(`Dockerfile:${line}: ${detail}`);
    this.name = 'DockerfileSyntaxError';
    this.line = line;
    this.endLine = Math.max(line, endLine);
    this.detail = detail;
  }
}

/** Problems raised by the line parsers before the line number is known. */
export class LineError extends Error {}

const EMPTY_CONTINUATION_URL = 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/';
/** bufio.MaxScanTokenSize: BuildKit's scanner cannot read longer lines. */
const MAX_LINE_BYTES = 64 * 1024;

const HEREDOC_COMMANDS = new Set(['add', 'copy', 'run']);

/** Parser-directive and escape-character state (BuildKit's directives + DirectiveParser). */
class DirectiveState {
  escapeToken: '\\' | '`' = '\\';
  done = false;
  private lineNo = 0;
  private readonly seen = new Set<string>();
  syntax: { value: string; line: number } | undefined;
  check: { value: string; line: number } | undefined;

  /** Looks at one line; returns true when it was a directive. */
  parseLine(line: string): boolean {
    this.lineNo++;
    if (this.done) return false;
    const m = matchDirective(line);
    if (m === null) {
      this.done = true;
      return false;
    }
    const key = m.name.toLowerCase();
    if (key !== 'syntax' && key !== 'escape' && key !== 'check') {
      this.done = true;
      return false;
    }
    if (this.seen.has(key)) throw new LineError(`only one ${key} parser directive can be used`);
    this.seen.add(key);
    if (key === 'escape') {
      if (m.value !== '`' && m.value !== '\\') {
        throw new LineError(`invalid escape token '${m.value}' does not match \` or \\`);
      }
      this.escapeToken = m.value;
    } else {
      this[key] = { value: m.value, line: this.lineNo };
    }
    return true;
  }
}

function isReSpace(c: string | undefined): boolean {
  // RE2's \s: [\t\n\f\r ]
  return c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
}

/** `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, scanned by hand. */
function matchDirective(line: string): { name: string; value: string } | null {
  if (line[0] !== '#') return null;
  let i = 1;
  while (isReSpace(line[i])) i++;
  const nameStart = i;
  if (!/[a-zA-Z]/.test(line[i] ?? '')) return null;
  i++;
  while (i < line.length && /[a-zA-Z0-9]/.test(line[i] as string)) i++;
  const name = line.slice(nameStart, i);
  while (isReSpace(line[i])) i++;
  if (line[i] !== '=') return null;
  i++;
  const rest = line.slice(i);
  if (rest === '' || rest.includes('\n')) return null;
  let s = 0;
  while (s < rest.length && isReSpace(rest[s])) s++;
  if (s === rest.length) return { name, value: rest[rest.length - 1] as string };
  let e = rest.length;
  while (e > s && isReSpace(rest[e - 1])) e--;
  return { name, value: rest.slice(s, e) };
}

function trimNewline(s: string): string {
  let e = s.length;
  while (e > 0 && (s[e - 1] === '\n' || s[e - 1] === '\r')) e--;
  return e === s.length ? s : s.slice(0, e);
}

function isComment(line: string): boolean {
  return trimLeftSpace(line)[0] === '#';
}

function isEmptyContinuationLine(line: string): boolean {
  return trimLeftSpace(trimNewline(line)).length === 0;
}

/**
 * The escape character as last non-blank character continues the line, unless it is
 * itself escaped (BuildKit's `([^\X])\X[ \t]*$|^\X[ \t]*$`). Returns the line without it.
 */
function trimContinuation(line: string, esc: string): { text: string; end: boolean } {
  let e = line.length;
  while (e > 0 && (line[e - 1] === ' ' || line[e - 1] === '\t')) e--;
  if (e === 0 || line[e - 1] !== esc) return { text: line, end: true };
  const idx = e - 1;
  if (idx === 0) return { text: '', end: false };
  if (line[idx - 1] === esc) return { text: line, end: true };
  return { text: line.slice(0, idx), end: false };
}

/** Splits text into lines that keep their `\n`, like BuildKit's scanLines. */
class LineReader {
  private pos = 0;
  lineNo = 0;
  constructor(private readonly text: string) {}

  next(): string | null {
    if (this.pos >= this.text.length) return null;
    const nl = this.text.indexOf('\n', this.pos);
    const end = nl < 0 ? this.text.length : nl + 1;
    const line = this.text.slice(this.pos, end);
    this.pos = end;
    this.lineNo++;
    // bufio.Scanner's token limit. Cheap pre-check: a UTF-16 length under a third of the
    // byte limit cannot exceed it.
    if (line.length * 3 >= MAX_LINE_BYTES) {
      const bytes = Buffer.byteLength(line, 'utf8');
      if (bytes > MAX_LINE_BYTES || (nl < 0 && bytes >= MAX_LINE_BYTES)) {
        throw new DockerfileSyntaxError(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES - 1}`, this.lineNo);
      }
    }
    return line;
  }
}

function newNode(value: string): Node {
  return {
    value,
    next: null,
    children: [],
    heredocs: [],
    attributes: {},
    original: '',
    flags: [],
    prevComment: [],
    startLine: 0,
    endLine: 0,
  };
}

/** Links argument values into a `next` chain. */
function chain(values: string[]): Node | null {
  let head: Node | null = null;
  let prev: Node | null = null;
  for (const v of values) {
    const n = newNode(v);
    if (prev === null) head = n;
    else prev.next = n;
    prev = n;
  }
  return head;
}

type LineParser = (rest: string, d: DirectiveState) => { next: Node | null; json: boolean };

/** `[\t\v\f\r ]+`, BuildKit's reWhitespace. */
function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';
}

/** regexp.Split(rest, -1) on reWhitespace. */
function splitWs(rest: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < rest.length) {
    if (isWs(rest[i])) {
      out.push(rest.slice(start, i));
      while (i < rest.length && isWs(rest[i])) i++;
      start = i;
    } else {
      i++;
    }
  }
  out.push(rest.slice(start));
  return out;
}

/** regexp.Split(rest, 2) on reWhitespace: first word and the untouched remainder. */
function splitWs2(rest: string): string[] {
  for (let i = 0; i < rest.length; i++) {
    if (isWs(rest[i])) {
      let j = i;
      while (j < rest.length && isWs(rest[j])) j++;
      return [rest.slice(0, i), rest.slice(j)];
    }
  }
  return [rest];
}

/**
 * Words separated by unquoted whitespace; quotes and escapes are kept in the words
 * (BuildKit's parseWords — they are removed later, at expansion time).
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? (chars[pos] as string) : '';
    if (phase === IN_SPACES) {
      if (pos === chars.length) break;
      if (isSpace(ch.codePointAt(0) as number)) continue;
      phase = IN_WORD;
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isSpace(ch.codePointAt(0) as number)) {
        phase = IN_SPACES;
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue; // an escape at the end of the line is dropped
        // Unquoted escape: keep it and the next character, even a quote.
        word += ch;
        pos++;
        ch = chars[pos] as string;
      }
      word += ch;
      continue;
    }
    // IN_QUOTE
    if (ch === quote) phase = IN_WORD;
    // The escape token works inside double quotes only.
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = IN_WORD;
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] as string;
    }
    word += ch;
  }
  return words;
}

const parseIgnore: LineParser = () => ({ next: newNode(''), json: false });

const parseString: LineParser = (rest) => ({ next: rest === '' ? null : newNode(rest), json: false });

const parseStringsWhitespaceDelimited: LineParser = (rest) => ({
  next: rest === '' ? null : chain(splitWs(rest)),
  json: false,
});

const parseNameOrNameVal: LineParser = (rest, d) => ({ next: chain(parseWords(rest, d.escapeToken)), json: false });

/** ENV / LABEL: `key value` (legacy) or `key=value ...`, as key/value/separator triples. */
function parseNameVal(rest: string, key: string, d: DirectiveState): Node | null {
  const words = parseWords(rest, d.escapeToken);
  if (words.length === 0) return null;
  if (!(words[0] as string).includes('=')) {
    const parts = splitWs2(rest);
    if (parts.length < 2) throw new LineError(`${key} must have two arguments`);
    return chain([parts[0] as string, parts[1] as string, '']);
  }
  const values: string[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) throw new LineError(`Syntax error - can't find = in ${goQuote(w)}. Must be of the form: name=value`);
    values.push(w.slice(0, eq), w.slice(eq + 1), '=');
  }
  return chain(values);
}

const parseEnv: LineParser = (rest, d) => ({ next: parseNameVal(rest, 'ENV', d), json: false });
const parseLabel: LineParser = (rest, d) => ({ next: parseNameVal(rest, 'LABEL', d), json: false });

const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/**
 * RUN / CMD / ENTRYPOINT / SHELL: a JSON array of strings (exec form, `json` attribute),
 * else the whole text as one argument (shell form). Invalid JSON silently falls back to
 * the shell form; valid JSON with a non-string element is an error. As with Go's
 * json.Decoder, text after the array's closing bracket is ignored.
 */
const parseMaybeJSON: LineParser = (rest) => {
  if (rest === '') return { next: null, json: false };
  const t = trimLeftSpace(rest);
  if (t[0] === '[') {
    const items = decodeJSONArray(t);
    if (items !== null) {
      if (items.some((v) => v === null)) throw new LineError(NOT_STRING_ARRAY);
      return { next: chain(items as string[]), json: true };
    }
  }
  return { next: newNode(rest), json: false };
};

/** COPY / ADD / VOLUME: a JSON array of strings, else whitespace-separated words. */
const parseMaybeJSONToList: LineParser = (rest, d) => {
  const t = trimLeftSpace(rest);
  if (t[0] === '[') {
    const items = decodeJSONArray(t);
    if (items !== null) {
      if (items.some((v) => v === null)) throw new LineError(NOT_STRING_ARRAY);
      return { next: chain(items as string[]), json: true };
    }
  }
  return parseStringsWhitespaceDelimited(rest, d);
};

/** HEALTHCHECK: a type word (`CMD`, `NONE`, ...) followed by CMD-style arguments. */
const parseHealthConfig: LineParser = (rest, d) => {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest.charCodeAt(sep))) sep++;
  let next = sep;
  while (next < rest.length && isSpace(rest.charCodeAt(next))) next++;
  if (sep === 0) return { next: null, json: false };
  const node = newNode(rest.slice(0, sep));
  const cmd = parseMaybeJSON(rest.slice(next), d);
  node.next = cmd.next;
  return { next: node, json: cmd.json };
};

/** ONBUILD: the trigger instruction becomes the only child of the argument node. */
const parseSubCommand: LineParser = (rest, d) => {
  if (rest === '') return { next: null, json: false };
  const holder = newNode('');
  holder.children.push(newNodeFromLine(rest, d, []));
  return { next: holder, json: false };
};

const DISPATCH: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: parseEnv,
  expose: parseStringsWhitespaceDelimited,
  from: parseStringsWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: parseLabel,
  maintainer: parseString,
  onbuild: parseSubCommand,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

/**
 * Leading `--name[=value]` words of an instruction's arguments (BuildKit's
 * extractBuilderFlags): quotes are removed and `\` escapes the next character; a bare
 * `--` ends the flags. Returns the flags and the rest of the line from the first non-flag.
 */
export function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  // Code-unit scan: every character that matters is ASCII, and neither half of a
  // surrogate pair is whitespace, so pairs pass through intact.
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const n = line.length;
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= n; pos++) {
    let ch = pos < n ? (line[pos] as string) : '';
    if (phase === IN_SPACES) {
      if (pos === n) break;
      if (isSpace(line.charCodeAt(pos))) continue;
      if (ch !== '-' || pos + 1 === n || line[pos + 1] !== '-') return { rest: line.slice(pos), flags: words };
      phase = IN_WORD;
    }
    if (pos === n) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isSpace(line.charCodeAt(pos))) {
        phase = IN_SPACES;
        if (word === '--') return { rest: line.slice(pos), flags: words };
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === n) continue;
        pos++;
        ch = line[pos] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === n) {
        phase = IN_WORD;
        continue;
      }
      pos++;
      ch = line[pos] as string;
    }
    word += ch;
  }
  return { rest: '', flags: words };
}

/** Instruction keyword, flags and argument text of one logical line (BuildKit's splitCommand). */
function splitCommand(line: string): { cmd: string; flags: string[]; args: string } {
  const parts = splitWs2(trimSpace(line));
  const cmd = (parts[0] as string).toLowerCase();
  if (parts.length < 2) return { cmd, flags: [], args: '' };
  const { rest, flags } = extractBuilderFlags(parts[1] as string);
  return { cmd, flags, args: trimSpace(rest) };
}

function newNodeFromLine(line: string, d: DirectiveState, comments: string[]): Node {
  const { cmd, flags, args } = splitCommand(line);
  const fn = DISPATCH[cmd] ?? parseIgnore;
  const { next, json } = fn(args, d);
  const node = newNode(cmd);
  node.original = line;
  node.flags = flags;
  node.next = next;
  if (json) node.attributes = { json: true };
  node.prevComment = comments;
  return node;
}

function canContainHeredoc(node: Node): boolean {
  let n = node;
  if (n.value === 'onbuild' && n.next !== null && n.next.children.length > 0) n = n.next.children[0] as Node;
  return HEREDOC_COMMANDS.has(n.value) && n.attributes.json !== true;
}

const NO_ENV: EnvGetter = { get: () => undefined, keys: () => [] };

/** Recognises one heredoc word, `[fd]<<[-]NAME` (BuildKit's ParseHeredoc). */
export function parseHeredocWord(word: string): ParsedHeredoc | null {
  let i = 0;
  while (i < word.length && word.charCodeAt(i) >= 0x30 && word.charCodeAt(i) <= 0x39) i++;
  if (word[i] !== '<' || word[i + 1] !== '<') return null;
  const fd = i === 0 ? 0 : Number(word.slice(0, i));
  i += 2;
  let chomp = false;
  if (word[i] === '-') {
    chomp = true;
    i++;
  }
  const rest = word.slice(i);
  if (rest.includes('<') || rest.length === 0) return null;

  // Lex the delimiter with and without quote removal: if the quote counts differ, part
  // of it was quoted, and the body is not expanded.
  const lex = new Lexer('\\');
  lex.skipUnsetEnv = true;
  const words = lex.processWords(rest, NO_ENV);
  if (words.length !== 1) return null;
  lex.rawQuotes = true;
  const wordsRaw = lex.processWords(rest, NO_ENV);
  if (wordsRaw.length !== words.length) {
    throw new LineError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const name = words[0] as string;
  const quoteCount = (s: string) => {
    let n = 0;
    for (const c of s) if (c === "'" || c === '"') n++;
    return n;
  };
  return {
    name,
    content: '',
    expand: quoteCount(name) === quoteCount(wordsRaw[0] as string),
    chomp,
    fileDescriptor: Number.isSafeInteger(fd) ? fd : 0,
  };
}

function heredocsFromLine(line: string): ParsedHeredoc[] {
  const lex = new Lexer('\\');
  lex.rawQuotes = true;
  lex.rawEscapes = true;
  lex.skipUnsetEnv = true;
  let words: string[];
  try {
    words = lex.processWords(line, NO_ENV);
  } catch (err) {
    // BuildKit ignores lexing errors here: a line that does not lex has no heredocs.
    if (err instanceof InvalidArgumentError) return [];
    throw err;
  }
  const docs: ParsedHeredoc[] = [];
  for (const w of words) {
    let h: ParsedHeredoc | null;
    try {
      h = parseHeredocWord(w);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new LineError(err.message);
      throw err;
    }
    if (h !== null) docs.push(h);
  }
  return docs;
}

/** Removes leading tabs from every line (BuildKit's ChompHeredocContent). */
export function chompHeredocContent(src: string): string {
  let out = '';
  let atLineStart = true;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (atLineStart && c === '\t') continue;
    atLineStart = c === '\n';
    out += c;
  }
  return out;
}

function trimLeadingTabs(s: string): string {
  let i = 0;
  while (s[i] === '\t') i++;
  return i === 0 ? s : s.slice(i);
}

/**
 * Parses a Dockerfile. Throws DockerfileSyntaxError (an InvalidArgumentError) with a
 * `Dockerfile:LINE: problem` message for input BuildKit rejects.
 */
export function parse(text: string): ParseResult {
  const d = new DirectiveState();
  const reader = new LineReader(text);
  const root = newNode('');
  root.startLine = -1;
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let currentLine = 0;

  const processLine = (raw: string, stripLeft: boolean): { text: string; directive: boolean } => {
    let token = trimNewline(raw);
    if (stripLeft) token = trimLeftSpace(token);
    let directive: boolean;
    try {
      directive = d.parseLine(token);
    } catch (err) {
      if (err instanceof LineError) throw new DockerfileSyntaxError(err.message, currentLine + 1);
      throw err;
    }
    return { text: isComment(token) ? '' : token, directive };
  };

  for (;;) {
    let raw = reader.next();
    if (raw === null) break;
    if (currentLine === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    if (isComment(raw)) {
      const c = trimSpace(raw.slice(1));
      if (c === '') comments = [];
      else comments.push(c);
    }
    const first = processLine(raw, true);
    if (first.directive) comments.pop();
    currentLine++;

    const startLine = currentLine;
    let piece = trimContinuation(first.text, d.escapeToken);
    if (piece.end && piece.text === '') continue;
    let line = piece.text;

    let hasEmptyContinuationLine = false;
    while (!piece.end) {
      const nextRaw = reader.next();
      if (nextRaw === null) break;
      const p = processLine(nextRaw, false);
      currentLine++;
      if (isComment(nextRaw)) continue;
      if (isEmptyContinuationLine(p.text)) {
        hasEmptyContinuationLine = true;
        continue;
      }
      piece = trimContinuation(p.text, d.escapeToken);
      line += piece.text;
    }

    if (hasEmptyContinuationLine) {
      warnings.push({
        short: 'Empty continuation line found in: ' + line,
        detail: ['Empty continuation lines will become errors in a future release'],
        url: EMPTY_CONTINUATION_URL,
        location: [{ start: { line: currentLine, character: 0 }, end: { line: currentLine, character: 0 } }],
      });
    }

    let child: Node;
    try {
      child = newNodeFromLine(line, d, comments);
    } catch (err) {
      if (err instanceof LineError) throw new DockerfileSyntaxError(err.message, startLine, currentLine);
      throw err;
    }

    if (canContainHeredoc(child) && line.includes('<<')) {
      let heredocs: ParsedHeredoc[];
      try {
        heredocs = heredocsFromLine(line);
      } catch (err) {
        if (err instanceof LineError) throw new DockerfileSyntaxError(err.message, startLine, currentLine);
        throw err;
      }
      for (const heredoc of heredocs) {
        let terminated = false;
        let content = '';
        for (;;) {
          const body = reader.next();
          if (body === null) break;
          currentLine++;
          let possibleTerminator = trimNewline(body);
          if (heredoc.chomp) possibleTerminator = trimLeadingTabs(possibleTerminator);
          if (possibleTerminator === heredoc.name) {
            terminated = true;
            break;
          }
          content += body;
        }
        if (!terminated) {
          throw new DockerfileSyntaxError(`unterminated heredoc ${goQuote(heredoc.name)}`, startLine, currentLine);
        }
        heredoc.content = heredoc.chomp ? chompHeredocContent(content) : content;
        child.heredocs.push(heredoc);
      }
    }

    child.startLine = startLine;
    child.endLine = currentLine;
    setArgLines(child, startLine, currentLine);
    if (root.startLine < 0) root.startLine = startLine;
    root.endLine = currentLine;
    root.children.push(child);
    comments = [];
  }

  if (root.startLine < 0) {
    throw new DockerfileSyntaxError('file with no instructions', Math.max(currentLine, 1));
  }

  const directives: Directives = { escapeToken: d.escapeToken };
  if (d.syntax !== undefined) directives.syntax = d.syntax;
  if (d.check !== undefined) directives.check = d.check;
  return { ast: root, escapeToken: d.escapeToken, directives, warnings };
}

/** Gives argument nodes (and an ONBUILD trigger) the lines of their instruction. */
function setArgLines(node: Node, start: number, end: number): void {
  for (let n = node.next; n !== null; n = n.next) {
    n.startLine = start;
    n.endLine = end;
    for (const c of n.children) {
      c.startLine = start;
      c.endLine = end;
      setArgLines(c, start, end);
    }
  }
}

// ---------------------------------------------------------------------------------------
// JSON: a small validating decoder for the exec form. Iterative (no recursion limit
// issues) and strict like Go's encoding/json; returns the top-level array's elements,
// with null standing for any element that is not a string, or null for a syntax error.
// ---------------------------------------------------------------------------------------

const MAX_JSON_DEPTH = 10000;

function isJSONWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Scans a JSON string starting at the opening quote; returns its value and the end index. */
function scanJSONString(s: string, start: number): { value: string; end: number } | null {
  let i = start + 1;
  let out = '';
  let chunk = i;
  for (;;) {
    if (i >= s.length) return null;
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      out += s.slice(chunk, i);
      return { value: out, end: i + 1 };
    }
    if (c < 0x20) return null;
    if (c !== 0x5c) {
      i++;
      continue;
    }
    out += s.slice(chunk, i);
    const e = s[i + 1];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        i += 2;
        break;
      case 'b':
        out += '\b';
        i += 2;
        break;
      case 'f':
        out += '\f';
        i += 2;
        break;
      case 'n':
        out += '\n';
        i += 2;
        break;
      case 'r':
        out += '\r';
        i += 2;
        break;
      case 't':
        out += '\t';
        i += 2;
        break;
      case 'u': {
        const hex4 = (at: number): number => {
          for (let k = at; k < at + 4; k++) if (!isHex(s[k])) return -1;
          return parseInt(s.slice(at, at + 4), 16);
        };
        const u = hex4(i + 2);
        if (u < 0) return null;
        i += 6;
        if (u >= 0xd800 && u <= 0xdfff) {
          // Go: a valid surrogate pair decodes to one rune, anything else to U+FFFD.
          if (u <= 0xdbff && s[i] === '\\' && s[i + 1] === 'u') {
            const lo = hex4(i + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              out += String.fromCharCode(u, lo);
              i += 6;
              break;
            }
          }
          out += '\uFFFD';
        } else {
          out += String.fromCharCode(u);
        }
        break;
      }
      default:
        return null;
    }
    chunk = i;
  }
}

function scanJSONNumber(s: string, start: number): number {
  let i = start;
  const digit = (k: number) => s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x39;
  if (s[i] === '-') i++;
  if (s[i] === '0') i++;
  else if (digit(i)) while (digit(i)) i++;
  else return -1;
  if (s[i] === '.') {
    i++;
    if (!digit(i)) return -1;
    while (digit(i)) i++;
  }
  if (s[i] === 'e' || s[i] === 'E') {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    if (!digit(i)) return -1;
    while (digit(i)) i++;
  }
  return i;
}

/** Decodes the JSON array at the start of `s` (which begins with `[`). */
function decodeJSONArray(s: string): Array<string | null> | null {
  const items: Array<string | null> = [];
  const stack: string[] = [];
  // States: value (a value must come), valueOrClose (after `[`), key, keyOrClose (after `{`), after.
  let state: 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'after' = 'value';
  let i = 0;
  for (;;) {
    while (isJSONWs(s[i])) i++;
    const c = s[i];
    if (c === undefined) return null;
    if (state === 'value' || state === 'valueOrClose') {
      const depth = stack.length;
      if (c === '[' || c === '{') {
        if (depth === 1) items.push(null);
        stack.push(c);
        if (stack.length > MAX_JSON_DEPTH) return null;
        i++;
        state = c === '[' ? 'valueOrClose' : 'keyOrClose';
        continue;
      }
      if (c === ']' && state === 'valueOrClose') {
        stack.pop();
        i++;
        if (stack.length === 0) return items;
        state = 'after';
        continue;
      }
      if (c === '"') {
        const str = scanJSONString(s, i);
        if (str === null) return null;
        if (depth === 1) items.push(str.value);
        i = str.end;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        const end = scanJSONNumber(s, i);
        if (end < 0) return null;
        if (depth === 1) items.push(null);
        i = end;
      } else if (s.startsWith('true', i) || s.startsWith('null', i)) {
        if (depth === 1) items.push(null);
        i += 4;
      } else if (s.startsWith('false', i)) {
        if (depth === 1) items.push(null);
        i += 5;
      } else {
        return null;
      }
      if (depth === 0) return null; // the top level is always an array here
      state = 'after';
      continue;
    }
    if (state === 'key' || state === 'keyOrClose') {
      if (c === '}' && state === 'keyOrClose') {
        stack.pop();
        i++;
        state = 'after';
        continue;
      }
      if (c !== '"') return null;
      const key = scanJSONString(s, i);
      if (key === null) return null;
      i = key.end;
      while (isJSONWs(s[i])) i++;
      if (s[i] !== ':') return null;
      i++;
      state = 'value';
      continue;
    }
    // after a value
    const top = stack[stack.length - 1];
    if (c === ',') {
      i++;
      state = top === '[' ? 'value' : 'key';
    } else if ((c === ']' && top === '[') || (c === '}' && top === '{')) {
      stack.pop();
      i++;
      if (stack.length === 0) return items;
      state = 'after';
    } else {
      return null;
    }
  }
}
