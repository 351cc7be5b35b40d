/**
 * PAX extended header records ("%d %s=%s\n"): binary-safe parsing into a key → bytes
 * map, deterministic encoding (records sorted by key), PAX decimal and time values, and
 * the xattr key schemes (`SCHILY.xattr.<name>` raw bytes, `LIBARCHIVE.xattr.<urlenc>` base64).
 * Parse failures throw plain Error with a short reason; the reader wraps them with the
 * entry name and offset.
 */
import type { TarTime } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Parse PAX records from `data` into `into` (later records override earlier ones).
 * An empty value is kept as an empty Buffer; callers treat it as "unset" per POSIX.
 * Values are copied so they do not pin the (possibly large) source chunk.
 */
export function parsePaxRecords(data: Uint8Array, into: Map<string, Buffer> = new Map()): Map<string, Buffer> {
  let pos = 0;
  const n = data.length;
  while (pos < n) {
    // Trailing NUL padding inside the declared size is tolerated (some writers pad).
    if (data[pos] === 0) {
      for (let k = pos; k < n; k++) if (data[k] !== 0) throw new Error(`garbage after PAX records at byte ${pos}`);
      break;
    }
    const sp = data.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 20) throw new Error(`malformed PAX record at byte ${pos}: no length`);
    let len = 0;
    for (let k = pos; k < sp; k++) {
      const c = data[k]! - 0x30;
      if (c < 0 || c > 9) throw new Error(`malformed PAX record at byte ${pos}: bad length`);
      len = len * 10 + c;
    }
    if (sp === pos || len <= sp - pos + 1 || pos + len > n) {
      throw new Error(`malformed PAX record at byte ${pos}: length ${len} out of range`);
    }
    const end = pos + len;
    if (data[end - 1] !== 0x0a) throw new Error(`malformed PAX record at byte ${pos}: missing newline`);
    const eq = data.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end - 1) throw new Error(`malformed PAX record at byte ${pos}: no '='`);
    if (eq === sp + 1) throw new Error(`malformed PAX record at byte ${pos}: empty key`);
    const key = utf8.decode(data.subarray(sp + 1, eq));
    into.set(key, Buffer.from(data.subarray(eq + 1, end - 1)));
    pos = end;
  }
  return into;
}

/** Encode one record; the length prefix counts itself. */
export function formatPaxRecord(key: string, value: Uint8Array | string): Buffer {
  const k = Buffer.from(key, 'utf8');
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (k.length === 0 || k.includes(0x3d) || k.includes(0x0a)) throw new Error(`invalid PAX key ${JSON.stringify(key)}`);
  const rest = k.length + v.length + 3; // ' ' '=' '\n'
  let digits = 1;
  while (String(rest + digits).length !== digits) digits++;
  const len = rest + digits;
  const out = Buffer.allocUnsafe(len);
  let p = out.write(`${len} `, 0, 'latin1');
  p += k.copy(out, p);
  out[p++] = 0x3d;
  out.set(v, p);
  p += v.length;
  out[p++] = 0x0a;
  if (p !== len) throw new Error(`PAX record length miscomputed for ${key}`);
  return out;
}

/** Encode a record set, sorted by key so the output is deterministic. */
export function formatPaxRecords(records: Map<string, Uint8Array | string>): Buffer {
  const keys = [...records.keys()].sort();
  return Buffer.concat(keys.map((k) => formatPaxRecord(k, records.get(k)!)));
}

/** A PAX decimal integer (uid, gid, size, SCHILY.devmajor...): digits only, safe range. */
export function parsePaxInteger(v: Buffer): number | null {
  const s = v.toString('latin1');
  if (!/^[0-9]{1,16}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** A PAX time "[-]sec[.frac]" with up to nanosecond precision (extra digits truncated, as Go). */
export function parsePaxTime(v: Buffer): TarTime | null {
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]*))?$/.exec(v.toString('latin1'));
  if (!m) return null;
  const neg = m[1] === '-';
  const secAbs = Number(m[2]);
  const frac = (m[3] ?? '').slice(0, 9).padEnd(9, '0');
  const nsAbs = Number(frac);
  if (!Number.isSafeInteger(secAbs)) return null;
  if (!neg) return { sec: secAbs, nsec: nsAbs };
  if (nsAbs === 0) return { sec: secAbs === 0 ? 0 : -secAbs, nsec: 0 };
  return { sec: -secAbs - 1, nsec: 1e9 - nsAbs };
}

/** Format a time for PAX: integer seconds, or "sec.fraction" with trailing zeros trimmed. */
export function formatPaxTime(t: TarTime): string {
  if (t.nsec === 0) return String(t.sec);
  let sec = t.sec;
  let ns = t.nsec;
  let sign = '';
  if (sec < 0) {
    // -1.25s is stored as sec=-2, nsec=750000000
    sign = '-';
    sec = -(sec + 1);
    ns = 1e9 - ns;
  }
  const frac = String(ns).padStart(9, '0').replace(/0+$/, '');
  return `${sign}${sec}.${frac}`;
}

export const SCHILY_XATTR = 'SCHILY.xattr.';
export const LIBARCHIVE_XATTR = 'LIBARCHIVE.xattr.';

/**
 * Extract xattrs from PAX records. LIBARCHIVE.xattr names are URL-encoded and their
 * values base64; SCHILY.xattr values are raw bytes and win when both name the same attribute.
 */
export function xattrsFromPax(pax: Map<string, Buffer>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of pax) {
    if (k.startsWith(LIBARCHIVE_XATTR)) {
      let name: string;
      try {
        name = decodeURIComponent(k.slice(LIBARCHIVE_XATTR.length));
      } catch (e) {
        throw new Error(`invalid LIBARCHIVE.xattr name ${JSON.stringify(k)}`, { cause: e });
      }
      if (!out.has(name)) out.set(name, Buffer.from(v.toString('latin1'), 'base64'));
    }
  }
  for (const [k, v] of pax) {
    if (k.startsWith(SCHILY_XATTR) && k.length > SCHILY_XATTR.length) out.set(k.slice(SCHILY_XATTR.length), v);
  }
  return out;
}
