/**
 * Output formatting the way Docker's CLI does it: go-units sizes and durations, tabwriter
 * tables (min width 10, padding 3), Go-style JSON, and --format: `json` (cairn's extension, as
 * Podman has it), `table` and `table TEMPLATE`, or any Go template (template/).
 */
import { InvalidArgumentError } from '../errors.js';
import { GoStruct, Template, TemplateError, type TemplateOptions } from '../template/index.js';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Go's %.*g for a number below 1000. */
function goG(v: number, precision: number): string {
  let s = v.toPrecision(precision);
  if (s.includes('e')) {
    // Go writes e+03 where JavaScript writes e+3; mantissa without trailing zeros.
    const [m, e] = s.split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
    const exp = Number(e);
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
}

/** go-units HumanSizeWithPrecision: 1988788 -> "1.99MB" (precision 3), "1.989MB" (precision 4). */
export function humanSize(bytes: number, precision = 3): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goG(size, precision)}${DECIMAL_UNITS[i]}`;
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3600000) / 24 / 365)} years`;
}

/** "5 seconds ago"; Docker prints "N/A" for a zero time. */
export function createdSince(ms: number, now = Date.now()): string {
  if (ms <= 0) return 'N/A';
  return `${humanDuration(now - ms)} ago`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function tzOffset(d: Date, sep: string): string {
  const off = -d.getTimezoneOffset();
  if (off === 0 && sep === ':') return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad2(Math.trunc(a / 60))}${sep}${pad2(a % 60)}`;
}

/** Go's time.RFC3339 in local time: 2026-11-23T12:53:14Z. */
export function rfc3339(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${tzOffset(d, ':')}`;
}

/** Go's time.Time.String() without fractions: 2026-11-23 12:53:14 +0000 UTC. */
export function goTimeString(ms: number): string {
  const d = new Date(ms);
  const abbr = d.getTimezoneOffset() === 0 ? 'UTC' : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? tzOffset(d, ''));
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${tzOffset(d, '')} ${abbr}`;
}

/** Docker's stringutils.Ellipsis: cut to `max` runes, the last one "…". */
export function ellipsis(s: string, max: number): string {
  const runes = [...s];
  if (runes.length <= max) return s;
  return runes.slice(0, max - 1).join('') + '…';
}

/** JSON as Go's encoding/json writes it: HTML-sensitive characters escaped. */
export function goJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Go's tabwriter as Docker configures it: minwidth 10 (`top`: 20), padding 3, last column unpadded. */
export function table(rows: string[][], minWidth = 10): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols - 1; c++) {
    widths[c] = Math.max(minWidth, ...rows.map((r) => [...(r[c] ?? '')].length + 3));
  }
  return rows
    .map((r) => r.map((cell, c) => (c < r.length - 1 ? cell + ' '.repeat(widths[c]! - [...cell].length) : cell)).join(''))
    .join('\n') + '\n';
}

/** A listing's data: each row as a Record of Docker's field names -> printed value. */
export type FieldRow = Record<string, string>;

export interface Listing {
  /** Column headers in order, keyed by field name. */
  columns: Array<[field: string, header: string]>;
  rows: FieldRow[];
  /** The Go type Docker formats a row as (its name appears in template errors): `*formatter.imageContext`. */
  rowType: string;
  /** Header names of the fields that are not default columns (Docker's header map names every field). */
  headers?: Record<string, string>;
  /**
   * Methods with an argument of row `index`'s struct (Docker's `{{.Label "KEY"}}`), beside its
   * fields but not in its JSON; a table's header row has the same methods returning the header
   * (`headerMethods`).
   */
  methods?: (index: number) => Record<string, (arg: string) => string>;
  headerMethods?: Record<string, (arg: string) => string>;
}

/** The header Docker's SubHeaderContext.Label gives `{{.Label "com.example.some_key"}}`: "some key". */
export function labelHeader(name: string): string {
  return (name.split('.').pop() ?? '').replace(/[-_]/g, ' ');
}

/** What Docker 20.10's CLI puts before a template's error (printed with no `Error: `). */
export const TEMPLATE_ERROR_PREFIX = 'template parsing error: ';

/**
 * Parse a --format template as Docker does; a syntax error is Docker's "template parsing error: ..."
 * (or the `prefix` the command uses), printed bare, exit 1 or the `exitCode` Docker gives it for
 * that command (64 for inspect, info and version).
 */
export function parseFormat(format: string, options: TemplateOptions & { exitCode?: number; prefix?: string } = {}): Template {
  try {
    return Template.parse(format, options);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    throw new InvalidArgumentError(`${options.prefix ?? TEMPLATE_ERROR_PREFIX}${e.message}`, { exitCode: options.exitCode ?? 1, bare: true });
  }
}

/** A listing row as the struct Docker's formatter hands its template: `{{json .}}` is its MarshalJSON (sorted, HTML-escaped). */
function rowStruct(listing: Listing, r: FieldRow, index: number): GoStruct {
  return new GoStruct(listing.rowType, listing.methods ? { ...r, ...listing.methods(index) } : r, () => goJson(sortKeys(r)));
}

/** The header row's "template functions" in Docker (templates.HeaderFunctions): they return the header unchanged. */
const HEADER_FUNCS = new Map([
  ['json', { params: ['any' as const], fn: (v: unknown) => v }],
  ['split', { params: ['any' as const, 'any' as const], fn: (v: unknown) => v }],
  ['join', { params: ['any' as const, 'any' as const], fn: (v: unknown) => v }],
  ['title', { params: ['any' as const], fn: (v: unknown) => v }],
  ['lower', { params: ['any' as const], fn: (v: unknown) => v }],
  ['upper', { params: ['any' as const], fn: (v: unknown) => v }],
  ['truncate', { params: ['any' as const, 'any' as const], fn: (v: unknown) => v }],
]);

/**
 * Render a listing for `--format` as Docker's formatter does: undefined or `table` -> Docker's
 * default table; `json` -> one JSON object per line (`{{json .}}`); `table TEMPLATE` -> the
 * template's header row (each field's header name) and rows through the tabwriter; any other
 * template -> one rendered line per row. `\t` and `\n` written in the format are a tab and a newline.
 */
export function renderListing(listing: Listing, format: string | undefined): string {
  if (format === undefined || format === '' || format === 'table') {
    return table([listing.columns.map(([, h]) => h), ...listing.rows.map((r) => listing.columns.map(([f]) => r[f] ?? ''))]);
  }
  if (format === 'json') {
    return listing.rows.map((r) => goJson(sortKeys(r)) + '\n').join('');
  }
  const isTable = format.startsWith('table');
  const text = (isTable ? format.slice('table'.length) : format).replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const tpl = parseFormat(text);
  let body = '';
  listing.rows.forEach((r, i) => {
    body += execute(tpl, rowStruct(listing, r, i)) + '\n';
  });
  if (!isTable) return body;
  // Docker runs the template over a map of header names with functions that return their argument; an error leaves the header empty.
  const headers: Record<string, string> = {};
  for (const [f, h] of listing.columns) headers[f] = h;
  Object.assign(headers, listing.headers);
  let header = '';
  try {
    // Docker's header map has methods too (SubHeaderContext.Label): a struct of the headers then.
    const data = listing.headerMethods ? new GoStruct('formatter.SubHeaderContext', { ...headers, ...listing.headerMethods }) : headers;
    header = parseFormat(text, { funcs: HEADER_FUNCS }).execute(data);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
  }
  const lines = `${header}\n${body}`.split('\n');
  lines.pop();
  return table(lines.map((l) => l.split('\t')));
}

/**
 * Execute a template; an error is Docker's "template parsing error: template: ..." (exit 1,
 * printed bare), or with `prefix` '' the Go error alone. `partial` receives what was written
 * before the error, for the commands whose template writes straight to stdout in Docker (info,
 * version).
 */
export function execute(tpl: Template, data: unknown, options: { missingKey?: 'default' | 'error'; prefix?: string; partial?: (written: string) => void } = {}): string {
  try {
    return tpl.execute(data, options);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    options.partial?.(e.output);
    throw new InvalidArgumentError(`${options.prefix ?? TEMPLATE_ERROR_PREFIX}${e.message}`, { bare: true });
  }
}

function sortKeys(r: FieldRow): FieldRow {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * JSON as Docker's daemon writes its API responses (json.Encoder with SetEscapeHTML(false)),
 * which `docker inspect` indents and prints as they came: `<`, `>` and `&` as they are; U+2028
 * and U+2029 escaped, as Go always escapes them.
 */
export function daemonJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
