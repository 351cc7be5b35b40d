/**
 * Environment variables and labels as `docker run` takes them (docker/cli opts/env.go,
 * envfile.go, file.go, parse.go), with Docker's messages. *pure*: the caller reads the files
 * and hands over their bytes, and the caller's environment.
 *
 * - `-e KEY=VALUE` as given; `-e KEY` becomes `KEY=VALUE` from the caller's environment when
 *   set there, else stays `KEY` (the container then lacks KEY); `-e =x` is
 *   `invalid environment variable: =x`.
 * - `--env-file` / `--label-file`: one `KEY=VALUE` per line (split at the first `=`, the value
 *   kept verbatim: no quotes removed, no trimming); a UTF-8 BOM at the start is dropped; `\r\n`
 *   ends a line as `\n` does; leading white space is dropped; blank lines and lines starting
 *   with `#` are skipped; a name holding a space or tab is `poorly formatted environment:
 *   variable 'D E' contains whitespaces`; `=x` is `poorly formatted environment: no variable
 *   name on line '=x'`; a line that is not UTF-8 is `env file F contains invalid utf8 bytes at
 *   line N: [98 97 ...]`. A `KEY` line alone takes KEY's value from the caller's environment
 *   (env files) or is dropped (label files, and env files when KEY is unset).
 * - `--label KEY[=VALUE]`: `invalid label '=x': empty name`, `label 'a b' contains whitespaces`.
 * Files come first, then the flags, so a flag overrides a file.
 */
import { InvalidArgumentError } from '../errors.js';

/** The caller's environment: a variable's value, or undefined when it is not set. */
export type EnvLookup = (name: string) => string | undefined;

/** bufio.Scanner's default limit on a line. */
const MAX_LINE = 64 * 1024;

/** Go's %v of a []byte: `[98 97 100]`. */
function goByteSlice(b: Uint8Array): string {
  return `[${Array.from(b).join(' ')}]`;
}

function isValidUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch (e) {
    if (e instanceof TypeError) return false;
    throw e;
  }
}

/** unicode.IsSpace. */
function isUnicodeSpace(c: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u.test(c);
}

/** bufio.Scanner with ScanLines: lines without their `\n` and one trailing `\r`. */
function scanLines(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    if (end - start + (nl < 0 ? 0 : 1) > MAX_LINE) throw new InvalidArgumentError('bufio.Scanner: token too long');
    let line = data.subarray(start, end);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    out.push(line);
    if (nl < 0) nl = data.length;
    start = nl + 1;
  }
  return out;
}

/**
 * docker/cli parseKeyValueFile: the `KEY=VALUE` entries of an env or label file. `lookup` gives
 * a value to a `KEY` line (env files); without it such lines are dropped (label files).
 * `name` is the file's name as given, for messages.
 */
export function parseKeyValueFile(name: string, content: Uint8Array | string, lookup?: EnvLookup): string[] {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const out: string[] = [];
  let lineNo = 0;
  for (let bytes of scanLines(data)) {
    if (!isValidUtf8(bytes)) throw new InvalidArgumentError(`env file ${name} contains invalid utf8 bytes at line ${lineNo + 1}: ${goByteSlice(bytes)}`);
    if (lineNo === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    let line = Buffer.from(bytes).toString('utf8');
    let k = 0;
    const chars = [...line];
    while (k < chars.length && isUnicodeSpace(chars[k]!)) k++;
    line = chars.slice(k).join('');
    lineNo++;
    if (line.length === 0 || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const variable = (eq < 0 ? line : line.slice(0, eq)).replace(/^[ \t]+/, '');
    if (/[ \t]/.test(variable)) throw new InvalidArgumentError(`poorly formatted environment: variable '${variable}' contains whitespaces`);
    if (variable.length === 0) throw new InvalidArgumentError(`poorly formatted environment: no variable name on line '${line}'`);
    if (eq >= 0) {
      out.push(`${variable}=${line.slice(eq + 1)}`);
    } else if (lookup !== undefined) {
      const value = lookup(line);
      if (value !== undefined) out.push(`${line.trim()}=${value}`);
    }
  }
  return out;
}

/** An env file's entries (`--env-file`): `KEY` lines take the caller's value or are dropped. */
export function parseEnvFile(name: string, content: Uint8Array | string, lookup: EnvLookup): string[] {
  return parseKeyValueFile(name, content, lookup);
}

/** A label file's entries (`--label-file`): `KEY` lines without `=` are dropped. */
export function parseLabelFile(name: string, content: Uint8Array | string): string[] {
  return parseKeyValueFile(name, content);
}

/** opts.ValidateEnv for `-e`: `KEY` alone takes the caller's value when it has one. */
export function validateEnv(value: string, lookup: EnvLookup): string {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === '') throw new InvalidArgumentError(`invalid environment variable: ${value}`);
  if (eq >= 0) return value;
  const v = lookup(key);
  return v === undefined ? value : `${key}=${v}`;
}

/** opts.ValidateLabel for `--label`: the value is kept as given. */
export function validateLabel(value: string): string {
  const eq = value.indexOf('=');
  const key = (eq < 0 ? value : value.slice(0, eq)).replace(/^[ \t]+/, '');
  if (key === '') throw new InvalidArgumentError(`invalid label '${value}': empty name`);
  if (/[ \t]/.test(key)) throw new InvalidArgumentError(`label '${key}' contains whitespaces`);
  return value;
}

/** opts.ConvertKVStringsToMap: later entries win; `KEY` alone is KEY="". */
export function kvToMap(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** Go's os.Open error text for a file the caller could not read (`open F: no such file or directory`). */
export function openFileErrorMessage(path: string, errno: string): string {
  const texts: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many levels of symbolic links',
    ENAMETOOLONG: 'file name too long',
    EPERM: 'operation not permitted',
    EIO: 'input/output error',
  };
  // Go opens a directory fine and fails on the read.
  if (errno === 'EISDIR') return `read ${path}: is a directory`;
  return `open ${path}: ${texts[errno] ?? errno.toLowerCase()}`;
}
