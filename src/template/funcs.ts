/**
 * Template functions: Go's builtins (and, or, not, len, index, slice, print, printf, println,
 * eq, ne, lt, le, gt, ge) with Go's errors, and Docker's (its `templates` package: json, split,
 * join, title, lower, upper, pad, truncate).
 */
import type { TemplateFunc } from './exec.js';
import { sprint, sprintf, sprintln } from './fmt.js';
import { CallError, GoNil, goJSON, isTrue, kindOf, numberValue, typeName } from './value.js';

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind {
  const k = kindOf(v);
  return k === 'bool' || k === 'int' || k === 'float' || k === 'string' ? k : 'invalid';
}

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';
const errNoComparison = 'missing argument for comparison';

function isNilish(v: unknown): boolean {
  return v === null || v === undefined || v instanceof GoNil;
}

function basicEqual(k: BasicKind, a: unknown, b: unknown): boolean {
  if (k === 'int' || k === 'float') return numberValue(a) === numberValue(b);
  return a === b;
}

/** Go's eq: arg1 == arg2 || arg1 == arg3 ...; numbers of different kinds are incompatible. */
function eq(arg1: unknown, ...arg2: unknown[]): boolean {
  if (arg2.length === 0) throw new CallError(errNoComparison);
  const k1 = basicKind(arg1);
  for (const arg of arg2) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (!isNilish(arg1) && !isNilish(arg)) throw new CallError(errBadComparison);
    } else if (k1 !== 'invalid') {
      truth = basicEqual(k1, arg1, arg);
    } else if (isNilish(arg1) || isNilish(arg)) {
      truth = isNilish(arg1) === isNilish(arg);
    } else {
      const bad = kindOf(arg1) !== 'struct' ? arg1 : arg;
      throw new CallError(`non-comparable type ${formatForError(bad)}: ${typeName(bad)}`);
    }
    if (truth) return true;
  }
  return false;
}

function formatForError(v: unknown): string {
  return sprint([v]);
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  if (k1 === 'invalid') throw new CallError(errBadComparisonType);
  const k2 = basicKind(b);
  if (k2 === 'invalid') throw new CallError(errBadComparisonType);
  if (k1 !== k2) throw new CallError(errBadComparison);
  if (k1 === 'bool') throw new CallError(errBadComparisonType);
  if (k1 === 'string') return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
  return numberValue(a) < numberValue(b);
}

function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

function indexArg(index: unknown, len: number, what: string): number {
  const k = kindOf(index);
  if (k === 'invalid' || k === 'nil') throw new CallError(`cannot index ${what} with nil`);
  if (k !== 'int') throw new CallError(`cannot index ${what} with type ${typeName(index)}`);
  const x = numberValue(index);
  if (x < 0 || x > len) throw new CallError(`index out of range: ${x}`);
  return x;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new CallError('index of untyped nil');
  for (const ix of indexes) {
    if (item === undefined || item === null) throw new CallError('index of untyped nil');
    if (item instanceof GoNil) {
      if (item.kind === 'ptr') throw new CallError('index of nil pointer');
      if (item.kind === 'map') {
        item = undefined;
        continue;
      }
    }
    switch (kindOf(item)) {
      case 'slice': {
        const arr = item as unknown[];
        const x = indexArg(ix, arr.length, 'slice/array');
        if (x >= arr.length) throw new CallError(`index out of range: ${x}`);
        item = arr[x];
        break;
      }
      case 'string': {
        const bytes = Buffer.from(item as string, 'utf8');
        const x = indexArg(ix, bytes.length, 'slice/array');
        if (x >= bytes.length) throw new CallError(`index out of range: ${x}`);
        item = bytes[x]!; // a byte, printed as its number
        break;
      }
      case 'map': {
        if (typeof ix !== 'string') {
          if (ix === null || ix === undefined) throw new CallError('value is nil; should be of type string');
          throw new CallError(`value has type ${typeName(ix)}; should be string`);
        }
        const m = item as Record<string, unknown>;
        item = Object.prototype.hasOwnProperty.call(m, ix) ? m[ix] : undefined;
        break;
      }
      default:
        throw new CallError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new CallError('slice of untyped nil');
  if (indexes.length > 3) throw new CallError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  const k = kindOf(item);
  if (k === 'string') {
    if (indexes.length === 3) throw new CallError('cannot 3-index slice a string');
    len = Buffer.byteLength(item as string);
  } else if (k === 'slice') len = (item as unknown[]).length;
  else if (item instanceof GoNil && item.kind === 'slice') len = 0;
  else throw new CallError(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, len, 'slice/array');
  });
  if (idx[0]! > idx[1]!) throw new CallError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new CallError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === 'string') return Buffer.from(item as string, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  if (k === 'slice') return (item as unknown[]).slice(idx[0], idx[1]);
  return item;
}

function length(item: unknown): number {
  if (item === null || (item instanceof GoNil && item.kind === 'ptr')) throw new CallError('len of nil pointer');
  if (item === undefined) throw new CallError('reflect: call of reflect.Value.Type on zero Value');
  if (item instanceof GoNil) return 0;
  switch (kindOf(item)) {
    case 'string':
      return Buffer.byteLength(item as string);
    case 'slice':
      return (item as unknown[]).length;
    case 'map':
      return Object.keys(item as object).length;
  }
  throw new CallError(`len of type ${typeName(item)}`);
}

/** Go's strings.Title: the first letter of each word upper-cased; words are separated as Go's isSeparator says. */
function title(s: string): string {
  const isSeparator = (c: string): boolean => {
    if (c.codePointAt(0)! <= 0x7f) return !/[0-9A-Za-z_]/.test(c);
    if (/[\p{L}\p{Nd}]/u.test(c)) return false;
    return /\s/u.test(c);
  };
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** Go's evalArgs for html, js and urlquery: one string as it is, anything else through fmt.Sprint. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

/** template.HTMLEscapeString. */
function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

const JS_NAMED: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };

/** template.JSEscapeString: quotes, backslash and <>&= escaped, control and non-printable runes as \uXXXX. */
function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (JS_NAMED[ch] !== undefined) out += JS_NAMED[ch];
    else if (c < 0x20 || (c >= 0x80 && !/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch))) {
      out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}

/** url.QueryEscape: unreserved bytes kept, space as +, everything else %XX. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's builtins of text/template. */
export const BUILTINS: ReadonlyMap<string, TemplateFunc> = new Map<string, TemplateFunc>([
  ['and', { params: ['value'], variadic: 'value', fn: () => undefined }],
  ['or', { params: ['value'], variadic: 'value', fn: () => undefined }],
  ['not', { params: ['value'], fn: (a) => !isTrue(a) }],
  ['len', { params: ['value'], fn: (a) => length(a) }],
  ['index', { params: ['value'], variadic: 'value', fn: (item, ...ix) => index(item, ...ix) }],
  ['slice', { params: ['value'], variadic: 'value', fn: (item, ...ix) => slice(item, ...ix) }],
  ['print', { params: [], variadic: 'any', fn: (...a) => sprint(a) }],
  ['printf', { params: ['string'], variadic: 'any', fn: (f, ...a) => sprintf(f as string, a) }],
  ['println', { params: [], variadic: 'any', fn: (...a) => sprintln(a) }],
  ['eq', { params: ['value'], variadic: 'value', fn: (a, ...b) => eq(a, ...b) }],
  ['ne', { params: ['value', 'value'], fn: (a, b) => !eq(a, b) }],
  ['lt', { params: ['value', 'value'], fn: (a, b) => lt(a, b) }],
  ['le', { params: ['value', 'value'], fn: (a, b) => le(a, b) }],
  ['gt', { params: ['value', 'value'], fn: (a, b) => !le(a, b) }],
  ['ge', { params: ['value', 'value'], fn: (a, b) => !lt(a, b) }],
  ['html', { params: [], variadic: 'any', fn: (...a) => htmlEscape(evalArgs(a)) }],
  ['js', { params: [], variadic: 'any', fn: (...a) => jsEscape(evalArgs(a)) }],
  ['urlquery', { params: [], variadic: 'any', fn: (...a) => queryEscape(evalArgs(a)) }],
]);

/** Docker's template functions (github.com/docker/cli/templates). */
export const DOCKER_FUNCS: ReadonlyMap<string, TemplateFunc> = new Map<string, TemplateFunc>([
  // json.Encoder with SetEscapeHTML(false), its newline trimmed; a value's own MarshalJSON (listing rows) is kept as it is.
  ['json', { params: ['any'], fn: (v) => goJSON(v, false) }],
  ['split', { params: ['string', 'string'], fn: (s, sep) => split(s as string, sep as string) }],
  ['join', { params: ['[]string', 'string'], fn: (elems, sep) => (elems instanceof GoNil ? '' : (elems as string[]).join(sep as string)) }],
  ['title', { params: ['string'], fn: (s) => title(s as string) }],
  ['lower', { params: ['string'], fn: (s) => (s as string).toLowerCase() }],
  ['upper', { params: ['string'], fn: (s) => (s as string).toUpperCase() }],
  ['pad', { params: ['string', 'int', 'int'], fn: (s, p, q) => (s === '' ? '' : repeat(' ', p as number) + (s as string) + repeat(' ', q as number)) }],
  ['truncate', { params: ['string', 'int'], fn: (s, n) => truncate(s as string, n as number) }],
]);

/** strings.Repeat, which panics (an error of the call) on a negative count. */
function repeat(s: string, n: number): string {
  if (n < 0) throw new CallError('strings: negative Repeat count');
  return s.repeat(n);
}

/** strings.Split: sep "" splits into runes. */
function split(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

/** Docker's truncateWithLength: the first `length` bytes. */
function truncate(s: string, length: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length < length) return s;
  if (length < 0) throw new CallError(`runtime error: slice bounds out of range [:${length}]`);
  return b.subarray(0, length).toString('utf8');
}
