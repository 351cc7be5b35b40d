/**
 * Go's fmt for the template functions print, println and printf: Sprint's spacing rule,
 * Sprintln, and Sprintf's verbs %v %s %d %q %t %x %X %o %b %c %U %e %E %f %F %g %G %T %%
 * with the flags + - # 0 space, width and precision (also `*`), and Go's in-band errors
 * (%!d(string=x), %!s(MISSING), %!(EXTRA ...), %!(NOVERB)).
 */
import { GoNil, GoStruct, formatFloatG, formatValue, kindOf, numberValue, sortedKeys, typeName } from './value.js';

/** fmt.Sprint: operands joined, a space between two when neither is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: operands always space-separated, then a newline. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width?: number;
  prec?: number;
}

function runeLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function pad(s: string, spec: Spec, zeroOK = false): string {
  if (spec.width === undefined) return s;
  const n = spec.width - runeLen(s);
  if (n <= 0) return s;
  if (spec.minus) return s + ' '.repeat(n);
  if (spec.zero && zeroOK) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

/** strconv.Quote: Go's double-quoted form, non-printable runes escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (/[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(ch)) out += ch;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}

function badVerb(verb: string, arg: unknown): string {
  if (arg === null || arg === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(arg)}=${formatValue(arg)})`;
}

function fmtInteger(n: bigint, verb: string, spec: Spec): string {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'd':
    case 'v':
      digits = abs.toString(10);
      break;
    case 'b':
      digits = abs.toString(2);
      if (spec.sharp) prefix = '0b';
      break;
    case 'o':
      digits = abs.toString(8);
      if (spec.sharp) prefix = '0';
      break;
    case 'O':
      digits = abs.toString(8);
      prefix = '0o';
      break;
    case 'x':
      digits = abs.toString(16);
      if (spec.sharp) prefix = '0x';
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      if (spec.sharp) prefix = '0X';
      break;
    default:
      throw new Error('unreachable integer verb');
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && n === 0n) digits = '';
    digits = digits.padStart(spec.prec, '0');
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  // The 0 flag pads after the sign, and is ignored when a precision is given.
  if (spec.zero && !spec.minus && spec.prec === undefined && spec.width !== undefined) {
    const body = prefix + digits;
    const n0 = spec.width - sign.length - body.length;
    if (n0 > 0) return sign + prefix + '0'.repeat(n0) + digits;
  }
  return pad(sign + prefix + digits, spec);
}

/** The exact decimal value of a finite non-negative double: digits N and scale S (value = N / 10^S). */
function exactDecimal(x: number): { n: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e: number;
  if (expBits === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  if (e >= 0) return { n: mant << BigInt(e), scale: 0 };
  return { n: mant * 5n ** BigInt(-e), scale: -e };
}

/** Round N / 10^scale to `places` decimals, half to even (Go's strconv on the exact binary value). */
function roundTo(n: bigint, scale: number, places: number): bigint {
  if (scale <= places) return n * 10n ** BigInt(places - scale);
  const div = 10n ** BigInt(scale - places);
  const q = n / div;
  const r = n % div;
  const twice = r * 2n;
  return twice > div || (twice === div && q % 2n === 1n) ? q + 1n : q;
}

/** Go's %.<p>f of a finite non-negative number. */
function toFixedGo(x: number, p: number): string {
  const { n, scale } = exactDecimal(x);
  const digits = roundTo(n, scale, p).toString().padStart(p + 1, '0');
  return p === 0 ? digits : `${digits.slice(0, -p)}.${digits.slice(-p)}`;
}

/** Go's %.<p>e of a finite non-negative number (two exponent digits at least). */
function toExponentialGo(x: number, p: number): string {
  if (x === 0) return `${p > 0 ? `0.${'0'.repeat(p)}` : '0'}e+00`;
  const { n, scale } = exactDecimal(x);
  let exp = n.toString().length - 1 - scale;
  let m = roundTo(n, scale, p - exp);
  if (m.toString().length > p + 1) {
    exp++;
    m = roundTo(n, scale, p - exp);
  }
  const d = m.toString();
  const mant = p > 0 ? `${d[0]}.${d.slice(1)}` : d;
  const a = Math.abs(exp);
  return `${mant}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
}

function fmtFloat(f: number, verb: string, spec: Spec): string {
  let s: string;
  const upper = verb === 'E' || verb === 'G' || verb === 'F';
  if (!Number.isFinite(f)) {
    // Infinities keep their sign (+Inf); NaN shows one only when asked for; never zero-padded.
    if (Number.isNaN(f)) s = spec.plus ? '+NaN' : spec.space ? ' NaN' : 'NaN';
    else s = f < 0 ? '-Inf' : spec.space && !spec.plus ? ' Inf' : '+Inf';
    return pad(s, { ...spec, zero: false });
  }
  const abs = Math.abs(f);
  const neg = f < 0 || Object.is(f, -0);
  switch (verb.toLowerCase()) {
    case 'e':
      s = toExponentialGo(abs, spec.prec ?? 6);
      break;
    case 'f':
      s = toFixedGo(abs, spec.prec ?? 6);
      break;
    case 'g':
    case 'v':
      if (spec.prec === undefined) s = formatFloatG(abs);
      else {
        // %.<p>g: p significant digits, %e form for exponents < -4 or >= p, trailing zeros dropped.
        const p = spec.prec === 0 ? 1 : spec.prec;
        const e = toExponentialGo(abs, p - 1);
        const exp = Number(e.split('e')[1]);
        if (exp < -4 || exp >= p) s = e.replace(/\.?0+e/, 'e');
        else s = toFixedGo(abs, Math.max(p - 1 - exp, 0)).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
      }
      break;
    default:
      throw new Error('unreachable float verb');
  }
  if (upper) s = s.toUpperCase();
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  if (spec.zero && !spec.minus && spec.width !== undefined) {
    const n0 = spec.width - sign.length - s.length;
    if (n0 > 0) return sign + '0'.repeat(n0) + s;
  }
  return pad(sign + s, spec);
}

function fmtString(s: string, verb: string, spec: Spec): string {
  if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, spec);
    case 'q':
      return pad(spec.sharp && !s.includes('`') ? `\`${s}\`` : goQuote(s), spec);
    case 'x':
    case 'X': {
      let h = Buffer.from(s, 'utf8').toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      return pad(h, spec);
    }
  }
  return badVerb(verb, s);
}

/** One operand under one verb, as fmt's printArg/printValue do. */
function fmtArg(arg: unknown, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(arg === null || arg === undefined ? '<nil>' : typeName(arg), spec);
  const kind = kindOf(arg);
  switch (kind) {
    case 'invalid':
    case 'nil':
      return verb === 'v' ? pad('<nil>', spec) : badVerb(verb, arg);
    case 'bool':
      return verb === 'v' || verb === 't' ? pad(arg ? 'true' : 'false', spec) : badVerb(verb, arg);
    case 'int': {
      const n = typeof arg === 'bigint' ? arg : BigInt(arg as number);
      if ('vdboOxX'.includes(verb)) return fmtInteger(n, verb, spec);
      if (verb === 'c') return pad(String.fromCodePoint(Number(n)), spec);
      if (verb === 'q') return pad(`'${String.fromCodePoint(Number(n))}'`, spec);
      if (verb === 'U') return pad(`U+${n.toString(16).toUpperCase().padStart(4, '0')}`, spec);
      return badVerb(verb, arg);
    }
    case 'float':
      if ('veEfFgG'.includes(verb)) return fmtFloat(numberValue(arg), verb, spec);
      return badVerb(verb, arg);
    case 'string':
      return fmtString(arg as string, verb, spec);
    case 'slice':
      return `[${(arg as unknown[]).map((e) => fmtArg(e, verb, spec)).join(' ')}]`;
    case 'map': {
      const m = arg as Record<string, unknown>;
      return `map[${sortedKeys(m).map((k) => `${fmtArg(k, verb, spec)}:${fmtArg(m[k], verb, spec)}`).join(' ')}]`;
    }
    case 'struct':
      return `{${Object.values((arg as GoStruct).fields).filter((f) => typeof f !== 'function').map((f) => fmtArg(f, verb, spec)).join(' ')}}`;
    case 'typednil': {
      const n = arg as GoNil;
      if (n.kind === 'slice') return '[]';
      if (n.kind === 'map') return 'map[]';
      return verb === 'v' || verb === 'p' ? pad('<nil>', spec) : badVerb(verb, arg);
    }
    case 'func':
      return badVerb(verb, arg);
  }
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argNum = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { plus: false, minus: false, sharp: false, zero: false, space: false };
    for (; i < n; i++) {
      const c = format[i];
      if (c === '+') spec.plus = true;
      else if (c === '-') spec.minus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === '0') spec.zero = !spec.minus;
      else if (c === ' ') spec.space = true;
      else break;
    }
    if (format[i] === '*') {
      i++;
      const w = args[argNum++];
      if (kindOf(w) === 'int') {
        spec.width = Number(w);
        if (spec.width < 0) {
          spec.minus = true;
          spec.width = -spec.width;
        }
      } else out += '%!(BADWIDTH)';
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argNum++];
        if (kindOf(p) === 'int' && Number(p) >= 0) spec.prec = Number(p);
        else out += '%!(BADPREC)';
      } else {
        const m = /^\d+/.exec(format.slice(i));
        spec.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argNum++];
    out += fmtArg(arg, verb, spec);
  }
  if (argNum < args.length) {
    out += `%!(EXTRA ${args.slice(argNum).map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${formatValue(a)}`)).join(', ')})`;
  }
  return out;
}
