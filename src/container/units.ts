/**
 * The value syntaxes of Docker's `run`/`create` flags, as the Go code behind them reads them,
 * with their error texts. *pure*
 *
 * - sizes (`--memory`, `--shm-size`, `tmpfs-size`): go-units v0.4.0 RAMInBytes, the version
 *   Docker 20.10 vendors — `512m`, `1.5g`, `1 GiB`, bare bytes; `invalid size: 'x'`;
 * - `--cpus`: big.Rat's SetString, times 10⁹ (`1.5`, `1/2`, `0x1`, `.5`, `1e0`);
 *   `failed to parse x as a rational number`, `value is too precise`;
 * - durations (`--health-*`): Go's time.ParseDuration (`30s`, `1m30s`, `500ms`, `1.5h`);
 *   `time: invalid duration "x"`, `time: missing unit in duration "10"`, `time: unknown unit
 *   "q" in duration "1q"`;
 * - integers (`--pids-limit`, `--stop-timeout`, `--health-retries`): pflag's
 *   strconv.ParseInt(s, 0, 64) — base prefixes 0x/0o/0b/0 and `_` separators accepted;
 *   `strconv.ParseInt: parsing "x": invalid syntax`, `... value out of range`;
 * - booleans (`--mount ro=`): strconv.ParseBool.
 * Each parser throws an InvalidArgumentError carrying Go's message alone; errors.ts wraps it
 * the way pflag does for the flag it came from.
 */
import { InvalidArgumentError } from '../errors.js';
import { goQuote } from '../template/fmt.js';

// --- sizes --------------------------------------------------------------------------------------

const SIZE_RE = /^([0-9]+(?:\.[0-9]+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const BINARY_UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** strconv.ParseFloat's syntax (decimal, without exponent: all SIZE_RE lets through). */
function parseFloatDecimal(s: string): number {
  if (!/^[0-9]+(?:\.[0-9]+)?$/.test(s)) throw new InvalidArgumentError(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  return Number(s);
}

/** go-units v0.4.0 RAMInBytes: `64m`, `1g`, `1.5 GiB`, `512k`, bare bytes; binary units. */
export function ramInBytes(s: string): number {
  const m = SIZE_RE.exec(s);
  if (m === null) throw new InvalidArgumentError(`invalid size: '${s}'`);
  let size = parseFloatDecimal(m[1]!);
  const unit = m[2];
  if (unit !== undefined) size *= BINARY_UNITS[unit.toLowerCase()]!;
  return Math.trunc(size);
}

// --- integers -----------------------------------------------------------------------------------

/** Go's underscoreOK: `_` only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.startsWith('-') || s.startsWith('+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[box]/i.test(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1]!.toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-f]/i.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** The digits of a Go integer literal in base 0 (prefixes, `_`): a bigint, or undefined if not one. */
function goUnsigned(s: string): bigint | undefined {
  if (s === '') return undefined;
  let base = 10;
  let digits = s;
  if (s[0] === '0') {
    const p = s.length >= 3 ? s[1]!.toLowerCase() : '';
    if (p === 'b' || p === 'o' || p === 'x') {
      base = p === 'b' ? 2 : p === 'o' ? 8 : 16;
      digits = s.slice(2);
    } else {
      base = 8;
      digits = s.slice(1);
    }
  }
  let n = 0n;
  let underscores = false;
  for (const c of digits) {
    if (c === '_') {
      underscores = true;
      continue;
    }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return undefined;
    n = n * BigInt(base) + BigInt(d);
  }
  if (underscores && !underscoreOK(s)) return undefined;
  return n;
}

/** strconv.ParseInt(s, 0, bits), as pflag's int flags call it. */
export function parseGoInt(s: string, bits = 64): number {
  const syntax = (): InvalidArgumentError => new InvalidArgumentError(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
  if (s === '') throw syntax();
  const neg = s[0] === '-';
  const body = s[0] === '-' || s[0] === '+' ? s.slice(1) : s;
  const n = goUnsigned(body);
  if (n === undefined) throw syntax();
  const limit = 1n << BigInt(bits - 1);
  if ((!neg && n >= limit) || (neg && n > limit)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${goQuote(s)}: value out of range`);
  return Number(neg ? -n : n);
}

/** strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; undefined otherwise. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

// --- CPUs ---------------------------------------------------------------------------------------

/** A rational number as big.Rat's SetString reads it: [numerator, denominator], or undefined. */
function parseRational(s: string): [bigint, bigint] | undefined {
  if (s === '') return undefined;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const a = s.slice(0, slash);
    const b = s.slice(slash + 1);
    const neg = a.startsWith('-');
    const num = goUnsigned(a.startsWith('-') || a.startsWith('+') ? a.slice(1) : a);
    const den = /^[0-9a-zA-Z_]+$/.test(b) ? goUnsigned(b) : undefined;
    if (num === undefined || den === undefined || den === 0n) return undefined;
    return [neg ? -num : num, den];
  }
  const m = /^([+-]?)(?:(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+)|([0-9_]*)(?:\.([0-9_]*))?)(?:[eE]([+-]?[0-9_]+))?$/.exec(s);
  if (m === null) return undefined;
  const neg = m[1] === '-';
  let num: bigint;
  let den = 1n;
  if (m[2] !== undefined) {
    const v = goUnsigned(m[2]);
    if (v === undefined) return undefined;
    num = v;
  } else {
    const int = m[3] ?? '';
    const frac = m[4] ?? '';
    if (int.replace(/_/g, '') === '' && frac.replace(/_/g, '') === '') return undefined;
    const digits = (int + frac).replace(/_/g, '');
    if (!underscoreOK(int) || !underscoreOK(frac)) return undefined;
    num = BigInt(digits === '' ? '0' : digits);
    den = 10n ** BigInt(frac.replace(/_/g, '').length);
  }
  if (m[5] !== undefined) {
    const digits = m[5].replace(/^[+-]/, '');
    if (!/^[0-9]/.test(digits) || !underscoreOK(digits)) return undefined;
    const exp = BigInt(m[5].replace(/_/g, ''));
    // big.Rat refuses exponents beyond a million ("avoid excessively large exponents").
    if (exp > 1_000_000n || exp < -1_000_000n) return undefined;
    if (exp >= 0n) num *= 10n ** exp;
    else den *= 10n ** -exp;
  }
  return [neg ? -num : num, den];
}

/** docker/cli opts.ParseCPUs: `--cpus` as nano-CPUs (`1.5` → 1500000000). */
export function parseNanoCpus(s: string): number {
  const r = parseRational(s);
  if (r === undefined) throw new InvalidArgumentError(`failed to parse ${s} as a rational number`);
  const [num, den] = r;
  const scaled = num * 1_000_000_000n;
  if (scaled % den !== 0n) throw new InvalidArgumentError('value is too precise');
  return Number(scaled / den);
}

// --- durations ----------------------------------------------------------------------------------

/** time's own quote: `"` + s + `"`, `"` and `\` escaped, bytes of non-ASCII or control runes as \xNN. */
export function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 || c < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return `${out}"`;
}

const NS = 1n;
const DURATION_UNITS: Record<string, bigint> = {
  ns: NS,
  us: 1000n,
  'µs': 1000n, // U+00B5
  'μs': 1000n, // U+03BC
  ms: 1000_000n,
  s: 1000_000_000n,
  m: 60n * 1000_000_000n,
  h: 3600n * 1000_000_000n,
};
const MAX_DURATION = 1n << 63n;

/** Go's time.ParseDuration (Go 1.19): nanoseconds. */
export function parseGoDuration(orig: string): number {
  const invalid = (): InvalidArgumentError => new InvalidArgumentError(`time: invalid duration ${goTimeQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0]! >= '0' && s[0]! <= '9'))) throw invalid();
    // leading integer
    let i = 0;
    let v = 0n;
    for (; i < s.length && s[i]! >= '0' && s[i]! <= '9'; i++) {
      if (v > MAX_DURATION / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > MAX_DURATION) throw invalid();
    }
    const pre = i > 0;
    s = s.slice(i);
    // fraction
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      for (; j < s.length && s[j]! >= '0' && s[j]! <= '9'; j++) {
        if (overflow) continue;
        if (f > (MAX_DURATION - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
        if (y > MAX_DURATION) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    // unit
    let u = 0;
    while (u < s.length && !(s[u] === '.' || (s[u]! >= '0' && s[u]! <= '9'))) u++;
    if (u === 0) throw new InvalidArgumentError(`time: missing unit in duration ${goTimeQuote(orig)}`);
    const name = s.slice(0, u);
    s = s.slice(u);
    const unit = DURATION_UNITS[name];
    if (unit === undefined) throw new InvalidArgumentError(`time: unknown unit ${goTimeQuote(name)} in duration ${goTimeQuote(orig)}`);
    if (v > MAX_DURATION / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > MAX_DURATION) throw invalid();
    }
    d += v;
    if (d > MAX_DURATION) throw invalid();
  }
  if (neg) return -Number(d);
  if (d > MAX_DURATION - 1n) throw invalid();
  return Number(d);
}

/** Go's time.Duration.String(): `1m30s`, `500ms`, `1.5µs`, `0s`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = BigInt(Math.abs(Math.trunc(ns)));
  const sign = neg ? '-' : '';
  const frac = (v: bigint, digits: number): [string, bigint] => {
    // v's last `digits` decimal digits as a fraction without trailing zeros
    let s = '';
    let print = false;
    for (let i = 0; i < digits; i++) {
      const digit = v % 10n;
      print = print || digit !== 0n;
      if (print) s = digit.toString() + s;
      v /= 10n;
    }
    return [print ? `.${s}` : '', v];
  };
  if (u < 1_000_000_000n) {
    if (u < 1000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) {
      const [f, w] = frac(u, 3);
      return `${sign}${w}${f}µs`;
    }
    const [f, w] = frac(u, 6);
    return `${sign}${w}${f}ms`;
  }
  const [f, secs] = frac(u, 9);
  u = secs;
  let out = `${u % 60n}${f}s`;
  u /= 60n;
  if (u > 0n) {
    out = `${u % 60n}m${out}`;
    u /= 60n;
    if (u > 0n) out = `${u}h${out}`;
  }
  return sign + out;
}
