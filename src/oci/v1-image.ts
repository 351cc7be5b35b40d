/**
 * Docker's v1 image JSON (the `<id>/json` of a pre-1.10 docker-archive) made into an image
 * config as Docker 20.10's legacy load makes it (moby image/v1: HistoryFromConfig,
 * MakeConfigFromV1Config), byte for byte, so that the image ID (the config's sha256) is
 * Docker's:
 * - the JSON is decoded into Go's V1Image (keys matched case-insensitively, Go's type rules:
 *   a wrong type is refused with Go's words; a string where a command's list is expected is a
 *   list of one, as strslice reads it);
 * - the history entry: created, author, comment, and container_config.Cmd joined by spaces;
 * - the config: when docker_version is older than 1.8.3 (or missing), the JSON is first
 *   re-encoded from the V1Image struct (unknown fields and container settings Docker no longer
 *   has dropped, zero values written); otherwise each top-level member is kept as it was
 *   (a json.RawMessage: compacted, `<>&` escaped); then `id`, `parent`, `Size`, `parent_id`,
 *   `layer_id` and `throwaway` are dropped, `rootfs` and `history` set, and the members
 *   written with their keys sorted (a Go map).
 * Pure.
 */
import { DataCorruptError, UnsupportedError } from '../errors.js';
import { compactRaw, type GoJsonNode, parseGoJson } from './gojson.js';
import { canonicalJson } from './json.js';
import type { HistoryEntry } from './types.js';

// --- Go's time.Time in JSON (RFC 3339 in, RFC 3339 with nanoseconds out) -----------------------

/** A time as Go keeps it for printing: the wall clock as written, the fraction, the offset. */
interface GoTime {
  wall: string;
  /** Fractional second digits, at most 9, trailing zeros dropped. */
  frac: string;
  /** Offset east of UTC in minutes. */
  offset: number;
}

const ZERO_TIME: GoTime = { wall: '0001-01-01T00:00:00', frac: '', offset: 0 };

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Go 1.19's time.Parse(time.RFC3339, s), as Time.UnmarshalJSON calls it. */
function parseGoTime(s: string, where: string): GoTime {
  const m = RFC3339.exec(s);
  const bad = (why: string): never => {
    throw new DataCorruptError(`${where}: parsing time ${JSON.stringify(s)} as RFC 3339: ${why}`);
  };
  if (m === null) return bad('not a time of the form 2006-01-02T15:04:05Z07:00');
  const [, y, mo, d, h, mi, sec, frac, z, sign, zh, zm] = m;
  const month = Number(mo);
  if (month < 1 || month > 12) bad('month out of range');
  if (Number(d) < 1 || Number(d) > daysIn(month, Number(y))) bad('day out of range');
  if (Number(h) > 23) bad('hour out of range');
  if (Number(mi) > 59) bad('minute out of range');
  if (Number(sec) > 59) bad('second out of range');
  const offset = z !== undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  return { wall: `${y}-${mo}-${d}T${h!.padStart(2, '0')}:${mi}:${sec}`, frac: (frac ?? '').slice(0, 9).replace(/0+$/, ''), offset };
}

/** time.RFC3339Nano, as Time.MarshalJSON writes it. */
function formatGoTime(t: GoTime): string {
  const a = Math.abs(t.offset);
  const zone = t.offset === 0 ? 'Z' : `${t.offset < 0 ? '-' : '+'}${String(Math.trunc(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  return `${t.wall}${t.frac !== '' ? `.${t.frac}` : ''}${zone}`;
}

// --- Go's typed decoding ---------------------------------------------------------------------

type Kind =
  | 'string'
  | 'bool'
  | 'int'
  | 'time'
  /** strslice.StrSlice: a list of strings, or one string. */
  | 'strslice'
  | 'strings'
  /** map[string]struct{} */
  | 'set'
  | 'stringmap'
  | 'intptr'
  | { struct: string; fields: Field[]; pointer?: boolean };

interface Field {
  name: string;
  kind: Kind;
}

type GoValue = string | boolean | number | GoTime | string[] | Map<string, unknown> | GoStruct | null;
interface GoStruct {
  [field: string]: GoValue;
}

const HEALTH_CONFIG: Kind = {
  struct: 'HealthConfig',
  pointer: true,
  fields: [
    { name: 'Test', kind: 'strings' },
    { name: 'Interval', kind: 'int' },
    { name: 'Timeout', kind: 'int' },
    { name: 'StartPeriod', kind: 'int' },
    { name: 'Retries', kind: 'int' },
  ],
};

/** api/types/container.Config of Docker 20.10, in struct order. */
const CONTAINER_CONFIG_FIELDS: Field[] = [
  { name: 'Hostname', kind: 'string' },
  { name: 'Domainname', kind: 'string' },
  { name: 'User', kind: 'string' },
  { name: 'AttachStdin', kind: 'bool' },
  { name: 'AttachStdout', kind: 'bool' },
  { name: 'AttachStderr', kind: 'bool' },
  { name: 'ExposedPorts', kind: 'set' },
  { name: 'Tty', kind: 'bool' },
  { name: 'OpenStdin', kind: 'bool' },
  { name: 'StdinOnce', kind: 'bool' },
  { name: 'Env', kind: 'strings' },
  { name: 'Cmd', kind: 'strslice' },
  { name: 'Healthcheck', kind: HEALTH_CONFIG },
  { name: 'ArgsEscaped', kind: 'bool' },
  { name: 'Image', kind: 'string' },
  { name: 'Volumes', kind: 'set' },
  { name: 'WorkingDir', kind: 'string' },
  { name: 'Entrypoint', kind: 'strslice' },
  { name: 'NetworkDisabled', kind: 'bool' },
  { name: 'MacAddress', kind: 'string' },
  { name: 'OnBuild', kind: 'strings' },
  { name: 'Labels', kind: 'stringmap' },
  { name: 'StopSignal', kind: 'string' },
  { name: 'StopTimeout', kind: 'intptr' },
  { name: 'Shell', kind: 'strslice' },
];

/** image.V1Image of Docker 20.10, in struct order. */
const V1_IMAGE_FIELDS: Field[] = [
  { name: 'id', kind: 'string' },
  { name: 'parent', kind: 'string' },
  { name: 'comment', kind: 'string' },
  { name: 'created', kind: 'time' },
  { name: 'container', kind: 'string' },
  { name: 'container_config', kind: { struct: 'Config', fields: CONTAINER_CONFIG_FIELDS } },
  { name: 'docker_version', kind: 'string' },
  { name: 'author', kind: 'string' },
  { name: 'config', kind: { struct: 'Config', fields: CONTAINER_CONFIG_FIELDS, pointer: true } },
  { name: 'architecture', kind: 'string' },
  { name: 'variant', kind: 'string' },
  { name: 'os', kind: 'string' },
  { name: 'Size', kind: 'int' },
];

function goType(k: Kind): string {
  if (typeof k === 'object') return `${k.pointer ? '*' : ''}${k.struct === 'Config' ? 'container.Config' : `container.${k.struct}`}`;
  return { string: 'string', bool: 'bool', int: 'int64', time: 'time.Time', strslice: 'strslice.StrSlice', strings: '[]string', set: 'map[string]struct {}', stringmap: 'map[string]string', intptr: '*int' }[k];
}

function jsonKind(n: GoJsonNode): string {
  return n.kind === 'bool' ? 'bool' : n.kind;
}

class Decoder {
  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {}

  private typeError(n: GoJsonNode, k: Kind, path: string, value = jsonKind(n)): never {
    throw new DataCorruptError(`${this.what}: json: cannot unmarshal ${value} into Go struct field V1Image.${path} of type ${goType(k)}`);
  }

  /** A zero value of `k` (Go's). */
  zero(k: Kind): GoValue {
    if (typeof k === 'object') return k.pointer ? null : this.zeroStruct(k.fields);
    switch (k) {
      case 'string':
        return '';
      case 'bool':
        return false;
      case 'int':
        return 0;
      case 'time':
        return ZERO_TIME;
      default:
        return null;
    }
  }

  zeroStruct(fields: Field[]): GoStruct {
    const s: GoStruct = {};
    for (const f of fields) s[f.name] = this.zero(f.kind);
    return s;
  }

  /** Decode `n` into a value of kind `k`, given the field's current value (Go decodes into it). */
  value(n: GoJsonNode, k: Kind, current: GoValue, path: string): GoValue {
    if (n.kind === 'null') {
      // null leaves a plain value alone and makes a slice, map or pointer nil
      if (typeof k === 'object') return k.pointer ? null : current;
      return ['strslice', 'strings', 'set', 'stringmap', 'intptr'].includes(k) ? null : current;
    }
    if (typeof k === 'object') {
      if (n.kind !== 'object') return this.typeError(n, k, path);
      const target = current !== null && typeof current === 'object' && !Array.isArray(current) && !(current instanceof Map) && !('wall' in current) ? (current as GoStruct) : this.zeroStruct(k.fields);
      this.struct(n, k.fields, target, path);
      return target;
    }
    switch (k) {
      case 'string':
        return n.kind === 'string' ? n.value : this.typeError(n, k, path);
      case 'bool':
        return n.kind === 'bool' ? n.value : this.typeError(n, k, path);
      case 'int':
      case 'intptr':
        if (n.kind !== 'number') return this.typeError(n, k, path);
        if (!/^-?\d+$/.test(n.literal) || BigInt(n.literal) > 2n ** 63n - 1n || BigInt(n.literal) < -(2n ** 63n)) return this.typeError(n, k, path, `number ${n.literal}`);
        return Number(n.literal);
      case 'time':
        if (n.kind !== 'string') throw new DataCorruptError(`${this.what}: ${path}: parsing time ${this.bytes.toString('utf8', n.start, n.end)}: not a JSON string`);
        return parseGoTime(this.bytes.toString('utf8', n.start + 1, n.end - 1), `${this.what}: ${path}`);
      case 'strslice':
        if (n.kind === 'string') return [n.value];
        if (n.kind !== 'array') throw new DataCorruptError(`${this.what}: json: cannot unmarshal ${jsonKind(n)} into Go value of type string`);
        return n.items.map((e) => (e.kind === 'string' ? e.value : e.kind === 'null' ? '' : this.typeErrorPlain(e)));
      case 'strings':
        if (n.kind !== 'array') return this.typeError(n, k, path);
        return n.items.map((e) => (e.kind === 'string' ? e.value : e.kind === 'null' ? '' : this.typeError(e, 'string', path)));
      case 'set':
      case 'stringmap': {
        if (n.kind !== 'object') return this.typeError(n, k, path);
        const m = current instanceof Map ? current : new Map<string, unknown>();
        for (const { key, value } of n.members) {
          if (k === 'set') {
            if (value.kind !== 'object' && value.kind !== 'null') this.typeError(value, { struct: 'struct {}', fields: [] }, path);
            m.set(key, {});
          } else {
            if (value.kind !== 'string' && value.kind !== 'null') this.typeError(value, 'string', path);
            m.set(key, value.kind === 'string' ? value.value : '');
          }
        }
        return m;
      }
    }
  }

  private typeErrorPlain(n: GoJsonNode): never {
    throw new DataCorruptError(`${this.what}: json: cannot unmarshal ${jsonKind(n)} into Go value of type string`);
  }

  /** Decode an object's members into `target` (Go: exact key first, else case-insensitive; unknown keys ignored). */
  struct(n: GoJsonNode & { kind: 'object' }, fields: Field[], target: GoStruct, path: string): void {
    for (const { key, value } of n.members) {
      const f = fields.find((x) => x.name === key) ?? fields.find((x) => x.name.toLowerCase() === key.toLowerCase());
      if (f === undefined) continue;
      target[f.name] = this.value(value, f.kind, target[f.name] ?? null, path === '' ? f.name : `${path}.${f.name}`);
    }
  }
}

// --- Go's encoding of the decoded values --------------------------------------------------------

/** The JSON-ready form of a decoded value (canonicalJson writes it as Go's Marshal does). */
function encodable(v: GoValue, k: Kind): unknown {
  if (typeof k === 'object') {
    if (v === null) return null;
    const s = v as GoStruct;
    const out: Record<string, unknown> = {};
    for (const f of k.fields) {
      const x = s[f.name] ?? null;
      if (omitEmpty(k, f) && isEmpty(x)) continue;
      out[f.name] = encodable(x, f.kind);
    }
    return out;
  }
  if (k === 'time') return formatGoTime(v as GoTime);
  return v;
}

/** Which fields carry `omitempty` (container.Config's and HealthConfig's). */
function omitEmpty(k: { struct: string }, f: Field): boolean {
  if (k.struct === 'HealthConfig') return true;
  return ['ExposedPorts', 'Healthcheck', 'ArgsEscaped', 'NetworkDisabled', 'MacAddress', 'StopSignal', 'StopTimeout', 'Shell'].includes(f.name);
}

function isEmpty(v: GoValue): boolean {
  if (v === null || v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  return false;
}

// --- the v1 image ------------------------------------------------------------------------------

export interface V1Image {
  /** The parent's v1 ID (a directory of the archive), or ''. */
  parent: string;
  os: string;
  history: HistoryEntry;
  /** What MakeConfigFromV1Config starts from: the raw members, or the re-encoded struct's. */
  members: Map<string, Buffer>;
}

/** docker/api/types/versions.compare: dotted numbers, a part that is not a number counts 0. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  const num = (s: string | undefined): bigint => (s !== undefined && /^[+-]?\d+$/.test(s) ? BigInt(s) : 0n);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = num(pa[i]);
    const y = num(pb[i]);
    if (x !== y) return x > y ? 1 : -1;
  }
  return 0;
}

/** Read a v1 image JSON (see the module comment); `what` names it in errors. */
export function parseV1Image(bytes: Buffer, what: string): V1Image {
  const root = parseGoJson(bytes, what);
  if (root.kind !== 'object') throw new DataCorruptError(`${what}: json: cannot unmarshal ${jsonKind(root)} into Go value of type image.V1Image`);
  const d = new Decoder(bytes, what);
  const img = d.zeroStruct(V1_IMAGE_FIELDS);
  d.struct(root, V1_IMAGE_FIELDS, img, '');
  const cmd = (img.container_config as GoStruct).Cmd as string[] | null;
  const history: HistoryEntry = { created: formatGoTime(img.created as GoTime) };
  if (img.author !== '') history.author = img.author as string;
  if (cmd !== null && cmd.join(' ') !== '') history.created_by = cmd.join(' ');
  if (img.comment !== '') history.comment = img.comment as string;

  const members = new Map<string, Buffer>();
  if (compareVersions(img.docker_version as string, '1.8.3') < 0) {
    // json.Marshal(v1Image): the struct's fields, omitempty ones only when set
    for (const f of V1_IMAGE_FIELDS) {
      const v = img[f.name] ?? null;
      const always = f.name === 'created' || f.name === 'container_config';
      if (!always && isEmpty(v)) continue;
      members.set(f.name, canonicalJson(encodable(v, f.kind)));
    }
  } else {
    for (const { key, value } of root.members) members.set(key, compactRaw(bytes, value));
  }
  return { parent: img.parent as string, os: img.os as string, history, members };
}

/** Docker's checkCompatibleOS on Linux: an image of another OS is refused with Docker's words. */
export function checkV1ImageOs(os: string): void {
  if (os === '' || os === 'linux') return;
  if (os === 'windows') throw new UnsupportedError('cannot load windows image on linux');
  const parsed = os.toLowerCase().split('/')[0]!;
  if (parsed !== 'linux') throw new UnsupportedError(`cannot load ${os} image on linux: unsupported os ${parsed}`);
}

/** MakeConfigFromV1Config: the image config's bytes for `img` on `diffIds` with `history` (see the module comment). */
export function configFromV1Image(img: V1Image, diffIds: readonly string[], history: readonly HistoryEntry[]): Buffer {
  const members = new Map(img.members);
  for (const k of ['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway']) members.delete(k);
  members.set('rootfs', canonicalJson({ type: 'layers', diff_ids: diffIds.length > 0 ? [...diffIds] : undefined }));
  members.set('history', canonicalJson(history.map(historyJson)));
  const keys = [...members.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: Buffer[] = [Buffer.from('{')];
  keys.forEach((k, i) => parts.push(Buffer.from(i > 0 ? ',' : ''), canonicalJson(k), Buffer.from(':'), members.get(k)!));
  parts.push(Buffer.from('}'));
  return Buffer.concat(parts);
}

/** image.History as Go writes it: created always, the rest when set. */
function historyJson(h: HistoryEntry): Record<string, unknown> {
  return { created: h.created, author: h.author || undefined, created_by: h.created_by || undefined, comment: h.comment || undefined, empty_layer: h.empty_layer || undefined };
}
