/**
 * Times as `docker logs --since/--until` take them, and log timestamps as Docker prints them.
 * *pure*
 *
 * `parseLogTime` is Docker's `timetypes.GetTimestamp`: a Go duration (`10m`, `1h30m`, `1.5h`;
 * not `0`) counts back from now to a whole second; a value with a `Z`, a `+` or three `-` is
 * an RFC 3339 date in its own zone (`2006-01-02`, `…T15`, `…T15:04`, `…T15:04:05[.fraction]`,
 * then `Z` or `±07:00`), another with `-` or `T` is one of those in the local zone; anything
 * else must be a Unix time `SECONDS[.FRACTION]`. Failures are Docker's messages, Go's
 * time.Parse errors word for word where Docker passes them on (`invalid value for "since":
 * parsing time "2020-13-01": month out of range`), exit code 1.
 */
import { InvalidArgumentError } from '../errors.js';

const NS_PER_SEC = 1_000_000_000n;

// --- Go's time.ParseDuration ------------------------------------------------------------------

const UNIT_NS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5
  ['μs', 1_000n], // U+03BC
  ['ms', 1_000_000n],
  ['s', NS_PER_SEC],
  ['m', 60n * NS_PER_SEC],
  ['h', 3600n * NS_PER_SEC],
]);

const MAX_DURATION = (1n << 63n) - 1n;

/** Go's time.ParseDuration in nanoseconds, or undefined where Go fails. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0]! >= '0' && s[0]! <= '9'))) return undefined;
    const intPart = /^[0-9]*/.exec(s)![0];
    s = s.slice(intPart.length);
    let frac = '';
    let hasFrac = false;
    if (s[0] === '.') {
      s = s.slice(1);
      frac = /^[0-9]*/.exec(s)![0];
      s = s.slice(frac.length);
      hasFrac = frac !== '';
    }
    if (intPart === '' && !hasFrac) return undefined;
    const unitText = /^[^0-9.]*/.exec(s)![0];
    if (unitText === '') return undefined;
    s = s.slice(unitText.length);
    const unit = UNIT_NS.get(unitText);
    if (unit === undefined) return undefined;
    let v = BigInt(intPart === '' ? '0' : intPart) * unit;
    if (hasFrac) {
      // Go scales the fraction in float64; to the nanosecond this is the same for any sane input.
      const scale = 10n ** BigInt(frac.length);
      v += (BigInt(frac) * unit) / scale;
    }
    total += v;
    if (total > MAX_DURATION) return undefined;
  }
  return neg ? -total : total;
}

// --- Go's time.Parse, for the few layouts Docker uses -----------------------------------------

/** Go's time.quote: double quotes, `"` and `\` escaped, bytes outside printable ASCII as \xNN. */
function goQuote(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

class GoParseError extends Error {}

function parseError(layout: string, value: string, layoutElem: string, valueElem: string, message: string): GoParseError {
  if (message === '') return new GoParseError(`parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(valueElem)} as ${goQuote(layoutElem)}`);
  return new GoParseError(`parsing time ${goQuote(value)}${message}`);
}

type Std = '2006' | '01' | '02' | '15' | '04' | '05' | '.999999999' | 'Z07:00';
const STDS: readonly Std[] = ['2006', '01', '02', '15', '04', '05', '.999999999', 'Z07:00'];

/** The layout cut as Go's nextStdChunk cuts it: literal prefix, then a standard element. */
function chunks(layout: string): Array<{ prefix: string; std: Std | undefined }> {
  const out: Array<{ prefix: string; std: Std | undefined }> = [];
  let rest = layout;
  while (true) {
    let at = -1;
    let found: Std | undefined;
    for (let i = 0; i < rest.length && found === undefined; i++) {
      for (const std of STDS) {
        if (rest.startsWith(std, i)) {
          at = i;
          found = std;
          break;
        }
      }
    }
    if (found === undefined) {
      out.push({ prefix: rest, std: undefined });
      return out;
    }
    out.push({ prefix: rest.slice(0, at), std: found });
    rest = rest.slice(at + found.length);
  }
}

const isDigit = (s: string, i: number): boolean => i < s.length && s[i]! >= '0' && s[i]! <= '9';

/** Go's getnum: one or two digits (two required when `fixed`). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) return fixed ? undefined : [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

/** Go's parseNanoseconds of value[0:nbytes] (a period or comma, then digits; past 9 ignored). */
function nanoseconds(value: string, nbytes: number): number | undefined {
  const n = Math.min(nbytes, 10);
  const digits = value.slice(1, n);
  if (!/^[0-9]+$/.test(digits)) return undefined;
  return Number(digits) * 10 ** (10 - n);
}

function daysIn(month: number, year: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Go's time.Parse (zone from the value) or ParseInLocation (`offsetSec`, a fixed zone) of
 * `value` against `layout` built from the elements above; nanoseconds since the epoch.
 */
function goParse(layout: string, value: string, offsetSec: number | undefined): bigint {
  let v = value;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let zone: number | undefined;
  const parts = chunks(layout);
  for (let k = 0; k < parts.length; k++) {
    const { prefix, std } = parts[k]!;
    if (!v.startsWith(prefix)) throw parseError(layout, value, prefix, v, '');
    v = v.slice(prefix.length);
    if (std === undefined) {
      if (v.length > 0) throw parseError(layout, value, '', v, `: extra text: ${goQuote(v)}`);
      break;
    }
    const hold = v;
    const bad = () => parseError(layout, value, std, hold, '');
    const range = (what: string) => parseError(layout, value, std, v, `: ${what} out of range`);
    switch (std) {
      case '2006': {
        if (v.length < 4 || !/^[0-9]{4}/.test(v)) throw bad();
        year = Number(v.slice(0, 4));
        v = v.slice(4);
        break;
      }
      case '01': {
        const r = getnum(v, true);
        if (r === undefined) throw bad();
        [month, v] = r;
        if (month <= 0 || month > 12) throw range('month');
        break;
      }
      case '02': {
        const r = getnum(v, true);
        if (r === undefined) throw bad();
        [day, v] = r;
        break;
      }
      case '15': {
        const r = getnum(v, false);
        if (r === undefined) throw bad();
        [hour, v] = r;
        if (hour >= 24) throw range('hour');
        break;
      }
      case '04': {
        const r = getnum(v, true);
        if (r === undefined) throw bad();
        [min, v] = r;
        if (min >= 60) throw range('minute');
        break;
      }
      case '05': {
        const r = getnum(v, true);
        if (r === undefined) throw bad();
        [sec, v] = r;
        if (sec >= 60) throw range('second');
        // Go reads a fraction after the seconds even when the layout has none.
        if (parts[k + 1]?.std === '.999999999') break;
        if (v.length >= 2 && (v[0] === '.' || v[0] === ',') && isDigit(v, 1)) {
          let n = 2;
          while (isDigit(v, n)) n++;
          nsec = nanoseconds(v, n)!;
          v = v.slice(n);
        }
        break;
      }
      case '.999999999': {
        if (v.length < 2 || !(v[0] === '.' || v[0] === ',') || !isDigit(v, 1)) break; // omitted
        let i = 0;
        while (isDigit(v, i + 1)) i++;
        const ns = nanoseconds(v, 1 + i);
        if (ns === undefined) throw bad();
        nsec = ns;
        v = v.slice(1 + i);
        break;
      }
      case 'Z07:00': {
        if (v[0] === 'Z') {
          v = v.slice(1);
          zone = 0;
          break;
        }
        if (v.length < 6 || v[3] !== ':') throw bad();
        const hr = getnum(v.slice(1, 3), true);
        const mm = hr === undefined ? undefined : getnum(v.slice(4, 6), true);
        const sign = v[0];
        v = v.slice(6);
        // Go checks the ranges first (with >: offsets of 24 hours or 60 minutes are written), then the digits and sign.
        if (hr !== undefined && hr[0] > 24) throw range('time zone offset hour');
        if (mm !== undefined && mm[0] > 60) throw range('time zone offset minute');
        if (hr === undefined || mm === undefined || (sign !== '+' && sign !== '-')) throw bad();
        zone = (sign === '-' ? -1 : 1) * (hr[0] * 60 + mm[0]) * 60;
        break;
      }
    }
  }
  if (day < 1 || day > daysIn(month, year)) throw parseError(layout, value, '', v, ': day out of range');
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, min, sec, 0);
  const offset = BigInt(zone ?? offsetSec ?? 0);
  return (BigInt(date.getTime() / 1000) - offset) * NS_PER_SEC + BigInt(nsec);
}

// --- Docker's GetTimestamp ----------------------------------------------------------------------

const RFC3339_LOCAL = '2006-01-02T15:04:05';
const RFC3339_NANO_LOCAL = '2006-01-02T15:04:05.999999999';
const RFC3339 = '2006-01-02T15:04:05Z07:00';
const RFC3339_NANO = '2006-01-02T15:04:05.999999999Z07:00';
const DATE_LOCAL = '2006-01-02';
const DATE_WITH_ZONE = '2006-01-02Z07:00';

/** The layout Docker's GetTimestamp picks for `value`, and whether the local zone applies. */
function layoutFor(value: string): { layout: string; local: boolean } {
  const local = !(/[zZ+]/.test(value) || value.split('-').length - 1 === 3);
  if (value.includes('.')) return { layout: local ? RFC3339_NANO_LOCAL : RFC3339_NANO, local };
  if (value.includes('T')) {
    let colons = value.split(':').length - 1;
    if (!local && !/[zZ]/.test(value) && colons > 0) colons--;
    if (local) return { layout: colons === 0 ? '2006-01-02T15' : colons === 1 ? '2006-01-02T15:04' : RFC3339_LOCAL, local };
    return { layout: colons === 0 ? '2006-01-02T15Z07:00' : colons === 1 ? '2006-01-02T15:04Z07:00' : RFC3339, local };
  }
  return { layout: local ? DATE_LOCAL : DATE_WITH_ZONE, local };
}

/** Docker's parseTimestamp: `SECONDS[.FRACTION]` (Go's ParseInt on each part). */
function unixTimestamp(value: string): bigint | undefined {
  const [secText, fracText] = value.split(/\.(.*)/s, 2) as [string, string | undefined];
  if (!/^[+-]?[0-9]+$/.test(secText)) return undefined;
  const sec = BigInt(secText);
  if (fracText === undefined) return sec * NS_PER_SEC;
  if (!/^[+-]?[0-9]+$/.test(fracText)) return undefined;
  // nsec * 10^(9 - len): Docker scales the fraction (in float64) to nanoseconds.
  const n = Number(fracText) * 10 ** (9 - fracText.length);
  return sec * NS_PER_SEC + BigInt(Math.trunc(n));
}

/**
 * `--since`/`--until` as Docker reads them (see the module's comment), relative to `now`:
 * nanoseconds since the epoch. A bad value throws Docker's one-line error naming `flag`.
 */
export function parseLogTime(text: string, now: Date, flag: 'since' | 'until' = 'since'): bigint {
  const duration = text !== '0' ? parseGoDuration(text) : undefined;
  if (duration !== undefined) {
    const nowNs = BigInt(now.getTime()) * 1_000_000n;
    const t = nowNs - duration;
    // Go's Unix(): whole seconds, rounded down.
    const secs = t >= 0n ? t / NS_PER_SEC : -((-t + NS_PER_SEC - 1n) / NS_PER_SEC);
    return secs * NS_PER_SEC;
  }
  const { layout, local } = layoutFor(text);
  try {
    return goParse(layout, text, local ? -now.getTimezoneOffset() * 60 : undefined);
  } catch (e) {
    if (!(e instanceof GoParseError)) throw e;
    // Docker's CLI finds these itself: said bare
    if (text.includes('-')) throw new InvalidArgumentError(`invalid value for "${flag}": ${e.message}`, { bare: true });
    const unix = unixTimestamp(text);
    if (unix === undefined) throw new InvalidArgumentError(`invalid value for "${flag}": failed to parse value as time or duration: ${goQuote(text)}`, { bare: true });
    return unix;
  }
}

/** Nanoseconds since the epoch as Docker prints a log line's time: UTC, nine fraction digits (`2026-12-04T23:00:00.123456789Z`). */
export function formatLogTime(unixNano: bigint): string {
  let secs = unixNano / NS_PER_SEC;
  let frac = unixNano % NS_PER_SEC;
  if (frac < 0n) {
    frac += NS_PER_SEC;
    secs -= 1n;
  }
  const iso = new Date(Number(secs) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

/** An RFC 3339 time with any fraction up to nanoseconds and a `Z` or `±hh:mm` zone, in nanoseconds since the epoch; undefined if it is not one. */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  let offset = 0;
  if (zone !== 'Z') offset = (zone![0] === '-' ? -1 : 1) * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60;
  const ns = frac === undefined ? 0n : BigInt(frac.padEnd(9, '0'));
  return (BigInt(ms / 1000) - BigInt(offset)) * NS_PER_SEC + ns;
}
