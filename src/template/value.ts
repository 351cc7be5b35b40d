/**
 * The Go values templates run over, modelled on plain JS data (the JSON-like records cairn's
 * commands build), and how Go prints them.
 *
 * The rule (documented in ARCHITECTURE.md):
 * - a plain object is a Go `map[string]interface {}`: a missing key is "<no value>" (or, with
 *   `missingkey=error`, Go's "map has no entry for key"); `%v` prints `map[k:v]` in sorted key order;
 * - a `GoStruct` is a Go struct (Docker's listing rows, `info`, `version`): a missing field is
 *   "can't evaluate field X in type T"; a field holding a function is a method called with the
 *   arguments; `%v` prints `{v1 v2}` in field order;
 * - an array is a slice (`[a b]`), a string a string, a boolean a bool;
 * - a JS number is an `int` when it is a safe integer and a `float64` otherwise (JSON numbers: 5 prints
 *   as 5); a `GoFloat` is a float64 whatever its value (a template's `1.0`);
 * - `null` is Go's nil interface and `undefined` the "no value" of a missing key (both print as
 *   "<no value>" in an action, "<nil>" through fmt); a `GoNil` is a typed nil (a nil slice prints
 *   `[]`, a nil map `map[]`, a nil pointer `<nil>`), for records whose Go type Docker prints.
 */

import { InvalidArgumentError } from '../errors.js';

/** The error a template function returns (Go: the function's error result, "error calling F: ..."). */
export class CallError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = 'CallError';
  }
}

/** A Go struct: named type, fields (and methods: function-valued fields) in declaration order. */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: Readonly<Record<string, unknown>>,
    /** The struct's own MarshalJSON, as Docker's listing contexts have (what `{{json .}}` prints). */
    readonly marshalJSON?: () => string,
  ) {}
}

/** A Go float64 (a template literal such as `1.0`, which Go keeps a float even when integral). */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** A typed nil: how Go prints a nil slice, map or pointer field of a struct. */
export class GoNil {
  constructor(
    readonly kind: 'slice' | 'map' | 'ptr',
    readonly typeName: string,
  ) {}
}

/** A method value: a GoStruct field holding a function. */
export type GoMethod = (...args: unknown[]) => unknown;

export type Kind = 'invalid' | 'nil' | 'bool' | 'int' | 'float' | 'string' | 'slice' | 'map' | 'struct' | 'typednil' | 'func';

export function kindOf(v: unknown): Kind {
  if (v === undefined) return 'invalid';
  if (v === null) return 'nil';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'function') return 'func';
  if (v instanceof GoFloat) return 'float';
  if (v instanceof GoNil) return 'typednil';
  if (v instanceof GoStruct) return 'struct';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

/** The Go type's name as Go's messages print it. */
export function typeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
      return '<nil>';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
    case 'func':
      return 'func';
    case 'typednil':
      return (v as GoNil).typeName;
    case 'struct':
      return (v as GoStruct).typeName;
    case 'slice':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
  }
}

export function numberValue(v: unknown): number {
  if (v instanceof GoFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  return v as number;
}

/** Go's byte-wise string order (sort.Strings / fmtsort for string keys). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function sortedKeys(m: object): string[] {
  return Object.keys(m).sort(compareStrings);
}

/** strconv.FormatFloat(f, 'g', -1, 64): the shortest digits, %e form for exponents < -4 or >= 6 (fmt.Println(1e6) is 1e+06). */
export function formatFloatG(f: number, expThreshold = 6): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const e = f.toExponential(); // shortest round-trip digits: "1.2345e+6"
  const [mant, expStr] = e.split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= expThreshold) {
    const abs = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp >= 0) {
    s = digits.length > exp + 1 ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}` : digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return neg ? `-${s}` : s;
}

/** fmt's %v of a value (fmt.Sprint of one operand): nil is "<nil>", inside a slice or map too. */
export function formatValue(v: unknown): string {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
      return '<nil>';
    case 'bool':
      return v ? 'true' : 'false';
    case 'int':
      return typeof v === 'bigint' ? v.toString() : String(v);
    case 'float':
      // fmt's %v of a float64 is %g with the shortest precision.
      return formatFloatG(numberValue(v));
    case 'string':
      return v as string;
    case 'func':
      return '<func>';
    case 'typednil': {
      const n = v as GoNil;
      return n.kind === 'slice' ? '[]' : n.kind === 'map' ? 'map[]' : '<nil>';
    }
    case 'struct': {
      const s = v as GoStruct;
      return `{${Object.values(s.fields).filter((f) => typeof f !== 'function').map(formatValue).join(' ')}}`;
    }
    case 'slice':
      return `[${(v as unknown[]).map(formatValue).join(' ')}]`;
    case 'map': {
      const m = v as Record<string, unknown>;
      return `map[${sortedKeys(m).map((k) => `${k}:${formatValue(m[k])}`).join(' ')}]`;
    }
  }
}

/** Go's truth: non-zero numbers, non-empty strings/slices/maps, true, non-nil; structs always true. */
export function isTrue(v: unknown): boolean {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
    case 'typednil':
      return false;
    case 'bool':
      return v as boolean;
    case 'int':
    case 'float':
      return numberValue(v) !== 0;
    case 'string':
      return (v as string).length > 0;
    case 'slice':
      return (v as unknown[]).length > 0;
    case 'map':
      return Object.keys(v as object).length > 0;
    case 'struct':
    case 'func':
      return true;
  }
}

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20) {
      // Go before 1.22 (Docker 20.10): only \n, \r and \t have short forms.
      out += ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : ch === '\t' ? '\\t' : `\\u00${c.toString(16).padStart(2, '0')}`;
    } else if (escapeHTML && (ch === '<' || ch === '>' || ch === '&')) out += `\\u00${c.toString(16)}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd'; // a lone surrogate: Go's invalid UTF-8 becomes U+FFFD
    else out += ch;
  }
  return out + '"';
}

/** Go's encoding/json float64: %f form, %e for exponents < -6 or >= 21 (e-07, not e-7, cleaned to e-7). */
function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new CallError(`json: unsupported value: ${formatFloatG(f)}`);
  return String(f); // ECMAScript's Number::toString uses the same shortest digits and thresholds
}

/**
 * Go's JSON encoding of a value: compact; with `escapeHTML` `<`, `>` and `&` as \u003c etc.
 * (json.Marshal), without it as Docker's `json` template function writes (an Encoder with
 * SetEscapeHTML(false)). A plain object keeps its own key order: cairn builds its records in the
 * order of Docker's struct fields.
 */
export function goJSON(v: unknown, escapeHTML: boolean): string {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
    case 'typednil':
      return 'null';
    case 'bool':
      return v ? 'true' : 'false';
    case 'int':
      return typeof v === 'bigint' ? v.toString() : String(v);
    case 'float':
      return jsonFloat(numberValue(v));
    case 'string':
      return jsonString(v as string, escapeHTML);
    case 'func':
      throw new CallError('json: unsupported type: func()');
    case 'struct': {
      const s = v as GoStruct;
      if (s.marshalJSON) return s.marshalJSON();
      const parts = Object.entries(s.fields).filter(([, f]) => typeof f !== 'function').map(([k, f]) => `${jsonString(k, escapeHTML)}:${goJSON(f, escapeHTML)}`);
      return `{${parts.join(',')}}`;
    }
    case 'slice':
      return `[${(v as unknown[]).map((e) => goJSON(e, escapeHTML)).join(',')}]`;
    case 'map': {
      const parts: string[] = [];
      for (const [k, f] of Object.entries(v as Record<string, unknown>)) {
        if (f === undefined) continue;
        parts.push(`${jsonString(k, escapeHTML)}:${goJSON(f, escapeHTML)}`);
      }
      return `{${parts.join(',')}}`;
    }
  }
}
