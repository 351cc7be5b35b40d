/**
 * BuildKit's conformance notation for a parsed Dockerfile (parser.Node.Dump): one
 * s-expression per instruction, arguments as Go-quoted strings. Used to compare our AST
 * byte for byte with BuildKit's parser testfiles, and handy for debugging.
 *
 * Owns `goQuote`, a port of Go's strconv.Quote, which the notation is built on.
 */
import type { Node } from './ast.js';

const HEX = '0123456789abcdef';
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
function isPrint(cp: number, ch: string): boolean {
  if (cp <= 0xff) {
    if (cp >= 0x20 && cp <= 0x7e) return true;
    if (cp >= 0xa1 && cp <= 0xff) return cp !== 0xad;
    return false;
  }
  return PRINTABLE.test(ch);
}

function hex(n: number, width: number): string {
  let s = '';
  for (let i = width - 1; i >= 0; i--) s += HEX[(n >> (4 * i)) & 0xf];
  return s;
}

/** Go's strconv.Quote: a double-quoted string with Go escapes; printable Unicode kept as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate has no UTF-8 form; Go would see the replacement character.
      out += '\\ufffd';
      continue;
    }
    if (isPrint(cp, ch)) {
      out += ch;
      continue;
    }
    switch (cp) {
      case 0x07:
        out += '\\a';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x0b:
        out += '\\v';
        break;
      default:
        if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2);
        else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
        else out += '\\U' + hex(cp, 8);
    }
  }
  return out + '"';
}

/**
 * Go's strings.TrimSpace on a dump. A dump starts with an instruction keyword (never
 * whitespace) and ends with a quote or parenthesis plus newlines, so ASCII is enough.
 */
function trimEdges(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && ' \t\n\v\f\r'.includes(s[start] as string)) start++;
  while (end > start && ' \t\n\v\f\r'.includes(s[end - 1] as string)) end--;
  return s.slice(start, end);
}

/**
 * BuildKit's Node.Dump: `value ["flags"] "arg" ...`, children each as `(child)` on their
 * own line, nested instructions (ONBUILD) inline. The root node dumps the whole file,
 * one instruction per line, without a final newline.
 */
export function dump(node: Node): string {
  let str = node.value.toLowerCase();
  if (node.flags.length > 0) str += ' [' + node.flags.map(goQuote).join(' ') + ']';
  for (const child of node.children) str += '(' + dump(child) + ')\n';
  for (let n = node.next; n !== null; n = n.next) {
    str += n.children.length > 0 ? ' ' + dump(n) : ' ' + goQuote(n.value);
  }
  return trimEdges(str);
}
