/**
 * The lexer of Go's text/template: text and actions between `{{` and `}}`, trim markers
 * (`{{- ` and ` -}}`), comments, and the tokens inside an action. A lexical error is an
 * `error` item carrying Go's message; the parser reports it.
 */

export type ItemType =
  | 'error'
  | 'bool'
  | 'char'
  | 'charConstant'
  | 'assign'
  | 'declare'
  | 'eof'
  | 'field'
  | 'identifier'
  | 'leftDelim'
  | 'leftParen'
  | 'number'
  | 'pipe'
  | 'rawString'
  | 'rightDelim'
  | 'rightParen'
  | 'space'
  | 'string'
  | 'text'
  | 'variable'
  | 'comment'
  // keywords
  | 'block'
  | 'break'
  | 'continue'
  | 'dot'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'nil'
  | 'range'
  | 'template'
  | 'with';

export interface Item {
  type: ItemType;
  /** Offset of the item in the input (UTF-16 units). */
  pos: number;
  val: string;
  /** 1-based line the item starts on. */
  line: number;
}

const KEYWORDS: Record<string, ItemType> = {
  '.': 'dot',
  block: 'block',
  break: 'break',
  continue: 'continue',
  define: 'define',
  else: 'else',
  end: 'end',
  if: 'if',
  nil: 'nil',
  range: 'range',
  template: 'template',
  with: 'with',
};

export function isKeyword(t: ItemType): boolean {
  return ['block', 'break', 'continue', 'dot', 'define', 'else', 'end', 'if', 'nil', 'range', 'template', 'with'].includes(t);
}

/** How Go's item.String() shows a token in a parse error. */
export function itemString(i: Item): string {
  if (i.type === 'eof') return 'EOF';
  if (i.type === 'error') return i.val;
  if (isKeyword(i.type)) return `<${i.val}>`;
  if ([...i.val].length > 10) return `${goQuoteShort(i.val, 10)}...`;
  return goQuoteShort(i.val, Infinity);
}

/** Go's %q (or %.10q: the first 10 runes) of a token. */
function goQuoteShort(s: string, runes: number): string {
  const cut = [...s].slice(0, runes).join('');
  return JSON.stringify(cut).replace(/\\u00([0-9a-f]{2})/g, '\\x$1');
}

const LEFT = '{{';
const RIGHT = '}}';

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlphaNumeric(c: string | undefined): boolean {
  return c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);
}

/** Go's %#U: U+0040 '@'. */
export function runeU(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  // strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(c) ? `U+${hex} '${c}'` : `U+${hex}`;
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s[at] === '-' && isSpace(s[at + 1]);
}

function hasRightTrimMarker(s: string, at: number): boolean {
  return isSpace(s[at]) && s[at + 1] === '-';
}

class Lexer {
  readonly items: Item[] = [];
  private start = 0;
  private pos = 0;
  private parenDepth = 0;

  constructor(private readonly input: string) {}

  run(): Item[] {
    let state: (() => unknown) | null = () => this.lexText();
    while (state) state = state() as (() => unknown) | null;
    return this.items;
  }

  private emit(type: ItemType): void {
    this.items.push({ type, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.lineAt(this.start) });
    this.start = this.pos;
  }

  private ignore(): void {
    this.start = this.pos;
  }

  private lineAt(pos: number): number {
    return 1 + countNewlines(this.input.slice(0, pos));
  }

  private next(): string | undefined {
    if (this.pos >= this.input.length) return undefined;
    const c = String.fromCodePoint(this.input.codePointAt(this.pos)!);
    this.pos += c.length;
    return c;
  }

  private backup(c: string | undefined): void {
    if (c === undefined) return;
    this.pos -= c.length;
  }

  private peek(): string | undefined {
    const c = this.next();
    this.backup(c);
    return c;
  }

  private errorf(msg: string): null {
    this.items.push({ type: 'error', pos: this.start, val: msg, line: this.lineAt(this.start) });
    return null;
  }

  private lexText(): (() => unknown) | null {
    const x = this.input.indexOf(LEFT, this.pos);
    if (x >= 0) {
      let end = x;
      if (hasLeftTrimMarker(this.input, x + LEFT.length)) {
        while (end > this.pos && isSpace(this.input[end - 1])) end--;
      }
      this.pos = end;
      if (this.pos > this.start) this.emit('text');
      this.pos = x;
      this.ignore();
      return () => this.lexLeftDelim();
    }
    this.pos = this.input.length;
    if (this.pos > this.start) this.emit('text');
    this.emit('eof');
    return null;
  }

  private atRightDelim(): { delim: boolean; trim: boolean } {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(RIGHT, this.pos + 2)) return { delim: true, trim: true };
    if (this.input.startsWith(RIGHT, this.pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  }

  private lexLeftDelim(): (() => unknown) | null {
    this.pos += LEFT.length;
    const trim = hasLeftTrimMarker(this.input, this.pos);
    const after = trim ? 2 : 0;
    if (this.input.startsWith('/*', this.pos + after)) {
      this.pos += after;
      this.ignore();
      return () => this.lexComment();
    }
    this.emit('leftDelim');
    this.pos += after;
    this.ignore();
    this.parenDepth = 0;
    return () => this.lexInsideAction();
  }

  private lexComment(): (() => unknown) | null {
    this.pos += 2;
    const x = this.input.indexOf('*/', this.pos);
    if (x < 0) return this.errorf('unclosed comment');
    this.pos = x + 2;
    const { delim, trim } = this.atRightDelim();
    if (!delim) return this.errorf('comment ends before closing delimiter');
    this.emit('comment');
    if (trim) this.pos += 2;
    this.pos += RIGHT.length;
    if (trim) this.skipSpace();
    this.ignore();
    return () => this.lexText();
  }

  private skipSpace(): void {
    while (isSpace(this.input[this.pos])) this.pos++;
  }

  private lexRightDelim(): (() => unknown) | null {
    const trim = hasRightTrimMarker(this.input, this.pos);
    if (trim) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += RIGHT.length;
    this.emit('rightDelim');
    if (trim) {
      this.skipSpace();
      this.ignore();
    }
    return () => this.lexText();
  }

  private lexInsideAction(): (() => unknown) | null {
    const { delim } = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return () => this.lexRightDelim();
      return this.errorf('unclosed left paren');
    }
    const r = this.next();
    if (r === undefined) return this.errorf('unclosed action');
    if (isSpace(r)) {
      this.backup(r);
      return () => this.lexSpace();
    }
    switch (r) {
      case '=':
        this.emit('assign');
        return () => this.lexInsideAction();
      case ':':
        if (this.next() !== '=') return this.errorf('expected :=');
        this.emit('declare');
        return () => this.lexInsideAction();
      case '|':
        this.emit('pipe');
        return () => this.lexInsideAction();
      case '"':
        return this.lexQuote();
      case '`':
        return this.lexRawQuote();
      case '$':
        return this.lexFieldOrVariable('variable');
      case "'":
        return this.lexChar();
      case '(':
        this.emit('leftParen');
        this.parenDepth++;
        return () => this.lexInsideAction();
      case ')':
        this.emit('rightParen');
        this.parenDepth--;
        if (this.parenDepth < 0) return this.errorf(`unexpected right paren ${runeU(r)}`);
        return () => this.lexInsideAction();
    }
    if (r === '.') {
      const c = this.input[this.pos];
      if (c === undefined || c < '0' || c > '9') return this.lexFieldOrVariable('field');
    }
    if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      this.backup(r);
      return this.lexNumber();
    }
    if (isAlphaNumeric(r)) {
      this.backup(r);
      return this.lexIdentifier();
    }
    const cp = r.codePointAt(0)!;
    if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
      this.emit('char');
      return () => this.lexInsideAction();
    }
    return this.errorf(`unrecognized character in action: ${runeU(r)}`);
  }

  private lexSpace(): (() => unknown) | null {
    let n = 0;
    while (isSpace(this.peek())) {
      this.next();
      n++;
    }
    // A space followed by "-}}" is the trim marker of the closing delimiter.
    if (hasRightTrimMarker(this.input, this.pos - 1) && this.input.startsWith(RIGHT, this.pos + 1)) {
      this.backup(this.input[this.pos - 1]);
      if (n === 1) return () => this.lexRightDelim();
    }
    this.emit('space');
    return () => this.lexInsideAction();
  }

  private atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    if (r === undefined || '.,|:)('.includes(r)) return true;
    return this.input.startsWith(RIGHT, this.pos);
  }

  private lexFieldOrVariable(type: 'field' | 'variable'): (() => unknown) | null {
    if (this.atTerminator()) {
      this.emit(type === 'variable' ? 'variable' : 'dot');
      return () => this.lexInsideAction();
    }
    let r: string | undefined;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup(r);
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${runeU(r ?? '')}`);
    this.emit(type);
    return () => this.lexInsideAction();
  }

  private lexIdentifier(): (() => unknown) | null {
    let r: string | undefined;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup(r);
        break;
      }
    }
    const word = this.input.slice(this.start, this.pos);
    if (!this.atTerminator()) return this.errorf(`bad character ${runeU(r ?? '')}`);
    const kw = KEYWORDS[word];
    if (kw !== undefined) this.emit(kw);
    else if (word === 'true' || word === 'false') this.emit('bool');
    else this.emit('identifier');
    return () => this.lexInsideAction();
  }

  private accept(valid: string): boolean {
    const c = this.next();
    if (c !== undefined && valid.includes(c)) return true;
    this.backup(c);
    return false;
  }

  private acceptRun(valid: string): void {
    while (this.accept(valid));
  }

  private lexNumber(): (() => unknown) | null {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return this.errorf(`bad number syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
    }
    this.emit('number');
    return () => this.lexInsideAction();
  }

  private lexQuote(): (() => unknown) | null {
    return this.lexEscaped('"', 'string', 'unterminated quoted string');
  }

  /** A quoted string or character constant up to `close` (backslash escapes; no newline inside). */
  private lexEscaped(close: string, kind: 'string' | 'charConstant', unterminated: string): (() => unknown) | null {
    for (;;) {
      const r = this.next();
      if (r === '\\') {
        const n = this.next();
        if (n !== undefined && n !== '\n') continue;
        return this.errorf(unterminated);
      }
      if (r === undefined || r === '\n') return this.errorf(unterminated);
      if (r === close) break;
    }
    this.emit(kind);
    return () => this.lexInsideAction();
  }

  private lexRawQuote(): (() => unknown) | null {
    const x = this.input.indexOf('`', this.pos);
    if (x < 0) return this.errorf('unterminated raw quoted string');
    this.pos = x + 1;
    this.emit('rawString');
    return () => this.lexInsideAction();
  }

  private lexChar(): (() => unknown) | null {
    return this.lexEscaped("'", 'charConstant', 'unterminated character constant');
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** The items of a template, ending with `eof` or an `error`. */
export function lex(input: string): Item[] {
  return new Lexer(input).run();
}
