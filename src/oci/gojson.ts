/**
 * JSON read as Go's encoding/json reads it, where its bytes matter: a document parsed into a
 * tree that keeps each value's span (a `json.RawMessage` is the bytes as they were), numbers
 * kept as their literals, strings decoded as Go decodes them; and `compactRaw`, the bytes Go's
 * encoder writes for a RawMessage (Marshal compacts it — white space outside strings dropped —
 * and escapes `<`, `>`, `&`, U+2028 and U+2029 as \u003c, \u003e, \u0026, \u2028, \u2029,
 * everything else byte for byte). Syntax as Go's scanner accepts it (RFC 8259; bytes that are
 * not UTF-8 pass inside strings). Pure.
 */
import { DataCorruptError } from '../errors.js';

interface Span {
  start: number;
  end: number;
}

export type GoJsonNode =
  | (Span & { kind: 'object'; members: Array<{ key: string; value: GoJsonNode }> })
  | (Span & { kind: 'array'; items: GoJsonNode[] })
  | (Span & { kind: 'string'; value: string })
  | (Span & { kind: 'number'; literal: string })
  | (Span & { kind: 'bool'; value: boolean })
  | (Span & { kind: 'null' });

/** Nesting deeper than this is refused (Go's scanner allows 10000; the documents read here are shallow). */
const MAX_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  private i = 0;
  constructor(
    private readonly b: Buffer,
    private readonly what: string,
  ) {}

  private fail(msg: string): never {
    throw new DataCorruptError(`${this.what}: invalid JSON: ${msg} at offset ${this.i}`);
  }

  private ws(): void {
    for (let c = this.b[this.i]; c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = this.b[++this.i]);
  }

  document(): GoJsonNode {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.b.length) this.fail('invalid character after top-level value');
    return v;
  }

  private literal(word: string): void {
    if (this.b.toString('latin1', this.i, this.i + word.length) !== word) this.fail('invalid character');
    this.i += word.length;
  }

  private value(depth: number): GoJsonNode {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const start = this.i;
    const c = this.b[this.i];
    switch (c) {
      case 0x7b: {
        this.i++;
        const members: Array<{ key: string; value: GoJsonNode }> = [];
        this.ws();
        if (this.b[this.i] === 0x7d) {
          this.i++;
          return { kind: 'object', start, end: this.i, members };
        }
        for (;;) {
          this.ws();
          if (this.b[this.i] !== 0x22) this.fail('looking for beginning of object key string');
          const key = this.string();
          this.ws();
          if (this.b[this.i] !== 0x3a) this.fail("after object key: expected ':'");
          this.i++;
          this.ws();
          members.push({ key, value: this.value(depth + 1) });
          this.ws();
          const d = this.b[this.i++];
          if (d === 0x7d) return { kind: 'object', start, end: this.i, members };
          if (d !== 0x2c) this.fail("after object key:value pair: expected ',' or '}'");
        }
      }
      case 0x5b: {
        this.i++;
        const items: GoJsonNode[] = [];
        this.ws();
        if (this.b[this.i] === 0x5d) {
          this.i++;
          return { kind: 'array', start, end: this.i, items };
        }
        for (;;) {
          this.ws();
          items.push(this.value(depth + 1));
          this.ws();
          const d = this.b[this.i++];
          if (d === 0x5d) return { kind: 'array', start, end: this.i, items };
          if (d !== 0x2c) this.fail("after array element: expected ',' or ']'");
        }
      }
      case 0x22:
        return { kind: 'string', start, value: this.string(), end: this.i };
      case 0x74:
        this.literal('true');
        return { kind: 'bool', start, end: this.i, value: true };
      case 0x66:
        this.literal('false');
        return { kind: 'bool', start, end: this.i, value: false };
      case 0x6e:
        this.literal('null');
        return { kind: 'null', start, end: this.i };
      default: {
        NUMBER.lastIndex = 0;
        const text = this.b.toString('latin1', this.i, Math.min(this.b.length, this.i + 4096));
        const m = NUMBER.exec(text);
        if (m === null || m[0] === '' || m[0] === '-') this.fail('looking for beginning of value');
        this.i += m[0].length;
        return { kind: 'number', start, end: this.i, literal: m[0] };
      }
    }
  }

  /** A string at `i` (its opening quote), decoded as Go decodes it; `i` moves past its closing quote. */
  private string(): string {
    this.i++;
    const parts: string[] = [];
    let run = this.i;
    for (;;) {
      const c = this.b[this.i];
      if (c === undefined) this.fail('unexpected end of JSON input in string');
      if (c === 0x22) {
        parts.push(this.b.toString('utf8', run, this.i));
        this.i++;
        return parts.join('');
      }
      if (c < 0x20) this.fail('invalid character in string literal');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      parts.push(this.b.toString('utf8', run, this.i));
      const e = this.b[this.i + 1];
      this.i += 2;
      switch (e) {
        case 0x22: parts.push('"'); break;
        case 0x5c: parts.push('\\'); break;
        case 0x2f: parts.push('/'); break;
        case 0x62: parts.push('\b'); break;
        case 0x66: parts.push('\f'); break;
        case 0x6e: parts.push('\n'); break;
        case 0x72: parts.push('\r'); break;
        case 0x74: parts.push('\t'); break;
        case 0x75: {
          const u = this.hex4();
          if (u >= 0xd800 && u < 0xdc00 && this.b[this.i] === 0x5c && this.b[this.i + 1] === 0x75) {
            const save = this.i;
            this.i += 2;
            const lo = this.hex4();
            if (lo >= 0xdc00 && lo < 0xe000) {
              parts.push(String.fromCharCode(u, lo));
              break;
            }
            this.i = save;
          }
          // Go: a surrogate not in a pair is U+FFFD
          parts.push(u >= 0xd800 && u < 0xe000 ? '\ufffd' : String.fromCharCode(u));
          break;
        }
        default:
          this.i -= 1;
          this.fail('invalid character in string escape code');
      }
      run = this.i;
    }
  }

  private hex4(): number {
    const h = this.b.toString('latin1', this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid character in \\u hexadecimal character escape');
    this.i += 4;
    return parseInt(h, 16);
  }
}

/** Parse `bytes` as one JSON document (see the module comment); errors name `what`. */
export function parseGoJson(bytes: Buffer, what: string): GoJsonNode {
  return new Parser(bytes, what).document();
}

/** The bytes Go's json.Marshal writes for `node` held as a json.RawMessage of `bytes` (see the module comment). */
export function compactRaw(bytes: Buffer, node: Span): Buffer {
  const out: Buffer[] = [];
  let run = node.start;
  let inString = false;
  const flush = (to: number, skip: number, insert?: string): void => {
    if (run < to) out.push(bytes.subarray(run, to));
    if (insert !== undefined) out.push(Buffer.from(insert, 'latin1'));
    run = to + skip;
  };
  for (let i = node.start; i < node.end; i++) {
    const c = bytes[i]!;
    if (c === 0x3c || c === 0x3e || c === 0x26) flush(i, 1, `\\u00${c.toString(16)}`);
    else if (c === 0xe2 && bytes[i + 1] === 0x80 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9)) {
      flush(i, 3, `\\u202${bytes[i + 2] === 0xa8 ? '8' : '9'}`);
      i += 2;
    } else if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) flush(i, 1);
  }
  flush(node.end, 0);
  return Buffer.concat(out);
}
