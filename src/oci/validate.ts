/**
 * Validation on the way in: JSON bytes (or already-decoded objects) become typed image-spec
 * documents only after every field cairn relies on has been checked. Errors are one-line
 * InvalidArgumentErrors (UnsupportedError for well-formed documents of a kind cairn does not
 * read, e.g. Docker schema 1) of the form `<where>: <field path>: <what is wrong>`, e.g.
 * `manifest sha256:ab…: layers[2].digest: invalid sha256 digest "sha256:zz": expected 64 lowercase hex characters`.
 *
 * Leniency follows what Go's encoding/json and Docker accept, so that images Docker reads are
 * read here too:
 * - unknown fields are kept untouched (documents must round-trip; callers keep the raw bytes,
 *   and nothing here reserialises);
 * - `null` for a known optional field means absent (Go leaves the zero value) and the key is
 *   removed from the returned object, so the types never carry `null`;
 * - Entrypoint, Cmd and Shell may be a single string (Docker's strslice), read as a one-element array;
 * - a missing or null rootfs.diff_ids is read as [] (Docker omits it for images without layers);
 * - history may have fewer non-empty entries than layers (Docker only rejects more);
 * - config, layer and index-entry media types that are unknown are accepted (the OCI spec says
 *   unknown layer types MUST be ignored, and BuildKit's cache manifests use their own config
 *   type); only types of the wrong kind (an index as a config, a config as a layer, ...) are rejected;
 * - an empty `layers` array is accepted (images built FROM scratch with no filesystem change);
 * - an empty-config artifact without artifactType is accepted (the OCI MUST is not enforced by
 *   registries or containerd).
 */
import { algorithmOf, digestOf, parseDigest, type Digest } from '../digest/digest.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  isImageConfigType,
  isIndexType,
  isLayerType,
  isManifestType,
  isSchema1Type,
  parseMediaType,
  type MediaType,
} from './mediatypes.js';
import { describe } from './describe.js';
import type {
  ContainerConfig,
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ManifestOrIndex,
  OciLayoutFile,
  Platform,
} from './types.js';

type Obj = Record<string, unknown>;

/** A position in a document: the caller's prefix plus a field path ('' at the root). */
class Loc {
  constructor(
    readonly where: string,
    readonly path: string,
  ) {}
  key(k: string): Loc {
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k)) return new Loc(this.where, this.path ? `${this.path}.${k}` : k);
    return new Loc(this.where, `${this.path}[${JSON.stringify(k)}]`);
  }
  index(i: number): Loc {
    return new Loc(this.where, `${this.path}[${i}]`);
  }
  toString(): string {
    return this.path ? `${this.where}: ${this.path}` : this.where;
  }
  err(msg: string): InvalidArgumentError {
    return new InvalidArgumentError(`${this.toString()}: ${msg}`);
  }
  fail(msg: string): never {
    throw this.err(msg);
  }
}

// ---------------------------------------------------------------------------------------------
// Field readers. Each reads o[key], treats null as absent (deleting the key), checks the type.

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(o: Obj, key: string): unknown {
  if (!Object.hasOwn(o, key)) return undefined;
  const v = o[key];
  if (v === null) {
    delete o[key];
    return undefined;
  }
  return v;
}

function asObj(v: unknown, at: Loc): Obj {
  if (!isObj(v)) throw at.err(`expected an object, got ${describe(v)}`);
  return v;
}

function reqObj(o: Obj, key: string, at: Loc): Obj {
  const v = get(o, key);
  if (v === undefined) throw at.key(key).err('required field is missing');
  return asObj(v, at.key(key));
}

function optObj(o: Obj, key: string, at: Loc): Obj | undefined {
  const v = get(o, key);
  return v === undefined ? undefined : asObj(v, at.key(key));
}

function reqString(o: Obj, key: string, at: Loc): string {
  const v = get(o, key);
  if (v === undefined) throw at.key(key).err('required field is missing');
  if (typeof v !== 'string') throw at.key(key).err(`expected a string, got ${describe(v)}`);
  return v;
}

function optString(o: Obj, key: string, at: Loc): string | undefined {
  const v = get(o, key);
  if (v !== undefined && typeof v !== 'string') throw at.key(key).err(`expected a string, got ${describe(v)}`);
  return v;
}

function optBool(o: Obj, key: string, at: Loc): void {
  const v = get(o, key);
  if (v !== undefined && typeof v !== 'boolean') throw at.key(key).err(`expected a boolean, got ${describe(v)}`);
}

function optInteger(o: Obj, key: string, at: Loc): void {
  const v = get(o, key);
  if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v))) {
    throw at.key(key).err(`expected an integer, got ${describe(v)}`);
  }
}

function stringArray(v: unknown, at: Loc): string[] {
  if (!Array.isArray(v)) throw at.err(`expected an array of strings, got ${describe(v)}`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw at.index(i).err(`expected a string, got ${describe(s)}`);
  });
  return v as string[];
}

function optStringArray(o: Obj, key: string, at: Loc): string[] | undefined {
  const v = get(o, key);
  return v === undefined ? undefined : stringArray(v, at.key(key));
}

/** Docker's strslice: a JSON array of strings, or one string meaning a one-element array. */
function optStrSlice(o: Obj, key: string, at: Loc): void {
  const v = get(o, key);
  if (typeof v === 'string') o[key] = [v];
  else if (v !== undefined) stringArray(v, at.key(key));
}

function optStringMap(o: Obj, key: string, at: Loc): void {
  const v = get(o, key);
  if (v === undefined) return;
  const m = asObj(v, at.key(key));
  for (const [k, s] of Object.entries(m)) {
    if (typeof s !== 'string') throw at.key(key).key(k).err(`expected a string, got ${describe(s)}`);
  }
}

/** Docker's set-like maps (ExposedPorts, Volumes): keys with `{}` values. */
function optObjectMap(o: Obj, key: string, at: Loc): void {
  const v = get(o, key);
  if (v === undefined) return;
  const m = asObj(v, at.key(key));
  for (const [k, s] of Object.entries(m)) asObj(s, at.key(key).key(k));
}

function optMediaType(o: Obj, key: string, at: Loc): MediaType | undefined {
  const v = get(o, key);
  return v === undefined ? undefined : parseMediaType(v, at.key(key).toString());
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;

/** A timestamp as Go's time.Time reads it from JSON (RFC 3339). */
function optTimestamp(o: Obj, key: string, at: Loc): void {
  const v = optString(o, key, at);
  if (v === undefined) return;
  const m = RFC3339_RE.exec(v);
  const ok =
    m !== null &&
    +m[2]! >= 1 && +m[2]! <= 12 &&
    +m[3]! >= 1 && +m[3]! <= 31 &&
    +m[4]! <= 23 && +m[5]! <= 59 && +m[6]! <= 59 &&
    (m[9] === undefined || (+m[9] <= 23 && +m[10]! <= 59));
  if (!ok) throw at.key(key).err(`invalid timestamp ${JSON.stringify(v)}: expected RFC 3339, e.g. 2024-01-02T03:04:05Z`);
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Decode JSON bytes into an object; a syntax error becomes a one-line InvalidArgumentError. */
function parseJsonObject(bytes: Buffer | string, where: string, what: string): Obj {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new InvalidArgumentError(`${where}: invalid JSON: ${oneLine(msg)}`, { cause: e });
  }
  if (!isObj(v)) throw new InvalidArgumentError(`${where}: expected a JSON object (${what}), got ${describe(v)}`);
  return v;
}

function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}

// ---------------------------------------------------------------------------------------------
// Descriptor and platform

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function descriptorAt(v: unknown, at: Loc): Descriptor {
  const o = asObj(v, at);
  parseMediaType(get(o, 'mediaType') ?? missing(at.key('mediaType')), at.key('mediaType').toString());
  const digestValue = get(o, 'digest');
  if (digestValue === undefined) throw at.key('digest').err('required field is missing');
  if (typeof digestValue !== 'string') throw at.key('digest').err(`expected a digest string, got ${describe(digestValue)}`);
  const digest = parseDigest(digestValue, at.key('digest').toString());
  const size = get(o, 'size');
  if (size === undefined) throw at.key('size').err('required field is missing');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw at.key('size').err(`expected a non-negative integer, got ${describe(size)}`);
  }
  const urls = optStringArray(o, 'urls', at);
  urls?.forEach((u, i) => {
    if (!URL.canParse(u)) throw at.key('urls').index(i).err(`invalid URL ${JSON.stringify(u)}`);
  });
  optStringMap(o, 'annotations', at);
  const p = get(o, 'platform');
  if (p !== undefined) platformAt(p, at.key('platform'));
  optMediaType(o, 'artifactType', at);
  const data = optString(o, 'data', at);
  if (data !== undefined) checkEmbeddedData(data, digest, size, at.key('data'));
  return o as Descriptor;
}

function missing(at: Loc): never {
  return at.fail('required field is missing');
}

function checkEmbeddedData(data: string, digest: Digest, size: number, at: Loc): void {
  if (!BASE64_RE.test(data)) throw at.err('invalid base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== size) throw at.err(`embedded data is ${bytes.length} bytes but size is ${size}`);
  const got = digestOf(bytes, algorithmOf(digest));
  if (got !== digest) throw at.err(`embedded data has digest ${got} but the descriptor says ${digest}`);
}

function platformAt(v: unknown, at: Loc): Platform {
  const o = asObj(v, at);
  reqString(o, 'architecture', at);
  reqString(o, 'os', at);
  optString(o, 'os.version', at);
  optStringArray(o, 'os.features', at);
  optString(o, 'variant', at);
  optStringArray(o, 'features', at);
  return o as Platform;
}

/**
 * Validate a descriptor object (e.g. one from index.json or a docker-archive manifest).
 * The input is not modified; the returned value is a checked copy.
 */
export function parseDescriptor(obj: unknown, where: string): Descriptor {
  return descriptorAt(structuredClone(obj), new Loc(where, ''));
}

/** Validate a platform object; the input is not modified. */
export function parsePlatformObject(obj: unknown, where: string): Platform {
  return platformAt(structuredClone(obj), new Loc(where, ''));
}

// ---------------------------------------------------------------------------------------------
// Manifest and index

/** What a media type is, for "X is a ..., not a ..." messages; undefined for unknown types. */
function kindOf(m: string): string | undefined {
  if (isManifestType(m)) return 'an image manifest';
  if (isIndexType(m)) return 'an index';
  if (isSchema1Type(m)) return 'a Docker schema 1 manifest';
  if (isLayerType(m)) return 'a layer';
  if (isImageConfigType(m)) return 'an image config';
  return undefined;
}

function checkSchemaVersion(o: Obj, at: Loc, what: string): void {
  const v = get(o, 'schemaVersion');
  if (v === undefined) throw at.key('schemaVersion').err('required field is missing');
  if (v === 1) {
    throw new UnsupportedError(`${at.toString()}: schemaVersion 1 (Docker image manifest v2 schema 1) is not supported`);
  }
  if (v !== 2) throw at.key('schemaVersion').err(`expected 2 for ${what}, got ${describe(v)}`);
}

/**
 * The document's own mediaType and the type it was referenced as must both be of the kind
 * being parsed (when present), and must agree with each other. A declared type cairn does not
 * know is ignored.
 */
function checkKind(own: string | undefined, declared: string | undefined, at: Loc, want: 'manifest' | 'index'): void {
  // A declared type of no known kind (a registry's application/json, say) says nothing: ignore it.
  if (declared !== undefined && kindOf(declared) === undefined) declared = undefined;
  const ok = want === 'manifest' ? isManifestType : isIndexType;
  const wanted = want === 'manifest' ? 'an image manifest' : 'an index';
  const expected = want === 'manifest' ? `${OCI_MANIFEST} or ${DOCKER_MANIFEST}` : `${OCI_INDEX} or ${DOCKER_MANIFEST_LIST}`;
  for (const [m, isOwn] of [[own, true], [declared, false]] as const) {
    if (m === undefined || ok(m)) continue;
    if (isSchema1Type(m)) throw new UnsupportedError(`${at.toString()}: Docker schema 1 manifests (${m}) are not supported`);
    const k = kindOf(m);
    if (isOwn) throw at.key('mediaType').err(k ? `${m} is ${k}, not ${wanted}` : `expected ${expected}, got ${JSON.stringify(m)}`);
    throw at.err(`referenced as ${m}, which is ${k ?? 'not a known type'}, not ${wanted}`);
  }
  if (own !== undefined && declared !== undefined && own !== declared) {
    throw at.key('mediaType').err(`document says ${own} but it was referenced as ${declared}`);
  }
}

function validateManifest(o: Obj, at: Loc, declared?: string): ImageManifest {
  checkSchemaVersion(o, at, 'an image manifest');
  const mediaType = optMediaType(o, 'mediaType', at);
  checkKind(mediaType, declared, at, 'manifest');
  optMediaType(o, 'artifactType', at);

  const config = descriptorAt(reqObj(o, 'config', at), at.key('config'));
  const ck = kindOf(config.mediaType);
  if (ck !== undefined && ck !== 'an image config') throw at.key('config').key('mediaType').err(`${config.mediaType} is ${ck}, not a config`);

  const layers = get(o, 'layers');
  if (layers === undefined) throw at.key('layers').err('required field is missing');
  if (!Array.isArray(layers)) throw at.key('layers').err(`expected an array of descriptors, got ${describe(layers)}`);
  layers.forEach((l, i) => {
    const d = descriptorAt(l, at.key('layers').index(i));
    const lk = kindOf(d.mediaType);
    if (lk !== undefined && lk !== 'a layer') throw at.key('layers').index(i).key('mediaType').err(`${d.mediaType} is ${lk}, not a layer`);
  });

  const subject = get(o, 'subject');
  if (subject !== undefined) descriptorAt(subject, at.key('subject'));
  optStringMap(o, 'annotations', at);
  return o as ImageManifest;
}

function validateIndex(o: Obj, at: Loc, declared?: string): ImageIndex {
  checkSchemaVersion(o, at, 'an index');
  const mediaType = optMediaType(o, 'mediaType', at);
  checkKind(mediaType, declared, at, 'index');
  optMediaType(o, 'artifactType', at);

  const manifests = get(o, 'manifests');
  if (manifests === undefined) throw at.key('manifests').err('required field is missing');
  if (!Array.isArray(manifests)) throw at.key('manifests').err(`expected an array of descriptors, got ${describe(manifests)}`);
  manifests.forEach((m, i) => {
    const d = descriptorAt(m, at.key('manifests').index(i));
    const k = kindOf(d.mediaType);
    if (k === 'a layer' || k === 'an image config') {
      throw at.key('manifests').index(i).key('mediaType').err(`${d.mediaType} is ${k}, not a manifest or index`);
    }
  });

  const subject = get(o, 'subject');
  if (subject !== undefined) descriptorAt(subject, at.key('subject'));
  optStringMap(o, 'annotations', at);
  return o as ImageIndex;
}

/**
 * Parse and validate an image manifest (OCI or Docker schema 2). `declared` is the media type
 * of the descriptor that pointed here, when known; a document that contradicts it is rejected.
 */
export function parseManifest(bytes: Buffer | string, where: string, declared?: string): ImageManifest {
  return validateManifest(parseJsonObject(bytes, where, 'an image manifest'), new Loc(where, ''), declared);
}

/** Parse and validate an image index (OCI index or Docker manifest list). */
export function parseIndex(bytes: Buffer | string, where: string, declared?: string): ImageIndex {
  return validateIndex(parseJsonObject(bytes, where, 'an image index'), new Loc(where, ''), declared);
}

/**
 * Parse a document that may be a manifest or an index. The kind comes from the document's
 * mediaType, else the declared (descriptor) media type, else its shape: `manifests` means an
 * index, `config`/`layers` a manifest; a document with both and no mediaType is ambiguous and
 * rejected (the OCI spec's guard against type confusion).
 */
export function parseManifestOrIndex(bytes: Buffer | string, where: string, declared?: string): ManifestOrIndex {
  const o = parseJsonObject(bytes, where, 'an image manifest or index');
  const at = new Loc(where, '');
  if (o.schemaVersion === 1) checkSchemaVersion(o, at, 'a manifest');
  const own = o.mediaType;
  const hint = typeof own === 'string' ? own : declared;
  if (hint !== undefined) {
    if (isManifestType(hint)) return { kind: 'manifest', manifest: validateManifest(o, at, declared) };
    if (isIndexType(hint)) return { kind: 'index', index: validateIndex(o, at, declared) };
    if (isSchema1Type(hint)) throw new UnsupportedError(`${where}: Docker schema 1 manifests (${hint}) are not supported`);
    if (typeof own === 'string') {
      parseMediaType(own, at.key('mediaType').toString());
      const k = kindOf(own);
      throw at.key('mediaType').err(`${own} is ${k ?? 'not a known type'}, not an image manifest or index`);
    }
    // A declared type that is neither (e.g. a generic descriptor type): fall back on the shape.
  }
  const isIndexShaped = Object.hasOwn(o, 'manifests');
  const isManifestShaped = Object.hasOwn(o, 'config') || Object.hasOwn(o, 'layers');
  if (isIndexShaped && isManifestShaped) {
    throw at.err('ambiguous document: has both manifests and config/layers but no mediaType');
  }
  if (isIndexShaped) return { kind: 'index', index: validateIndex(o, at, declared) };
  if (isManifestShaped) return { kind: 'manifest', manifest: validateManifest(o, at, declared) };
  return at.fail('not an image manifest or index: no mediaType, manifests, config or layers field');
}

// ---------------------------------------------------------------------------------------------
// Image config

function containerConfigAt(o: Obj, at: Loc): ContainerConfig {
  optString(o, 'User', at);
  optObjectMap(o, 'ExposedPorts', at);
  optStringArray(o, 'Env', at);
  optStrSlice(o, 'Entrypoint', at);
  optStrSlice(o, 'Cmd', at);
  optObjectMap(o, 'Volumes', at);
  optString(o, 'WorkingDir', at);
  optStringMap(o, 'Labels', at);
  optString(o, 'StopSignal', at);
  optBool(o, 'ArgsEscaped', at);
  const hc = optObj(o, 'Healthcheck', at);
  if (hc !== undefined) {
    const hat = at.key('Healthcheck');
    optStringArray(hc, 'Test', hat);
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) optInteger(hc, k, hat);
  }
  optStringArray(o, 'OnBuild', at);
  optStrSlice(o, 'Shell', at);
  return o as ContainerConfig;
}

function validateImageConfig(o: Obj, at: Loc): ImageConfig {
  optTimestamp(o, 'created', at);
  optString(o, 'author', at);
  reqString(o, 'architecture', at);
  reqString(o, 'os', at);
  optString(o, 'os.version', at);
  optStringArray(o, 'os.features', at);
  optString(o, 'variant', at);
  const cc = optObj(o, 'config', at);
  if (cc !== undefined) containerConfigAt(cc, at.key('config'));

  const rootfs = reqObj(o, 'rootfs', at);
  const rat = at.key('rootfs');
  const type = reqString(rootfs, 'type', rat);
  if (type !== 'layers') throw rat.key('type').err(`expected "layers", got ${JSON.stringify(type)}`);
  const diffIds = get(rootfs, 'diff_ids') ?? [];
  if (!Array.isArray(diffIds)) throw rat.key('diff_ids').err(`expected an array of digests, got ${describe(diffIds)}`);
  diffIds.forEach((d, i) => {
    const dat = rat.key('diff_ids').index(i);
    if (typeof d !== 'string') throw dat.err(`expected a digest string, got ${describe(d)}`);
    parseDigest(d, dat.toString());
  });
  rootfs.diff_ids = diffIds;

  const history = get(o, 'history');
  if (history !== undefined) {
    const hat = at.key('history');
    if (!Array.isArray(history)) throw hat.err(`expected an array, got ${describe(history)}`);
    let nonEmpty = 0;
    history.forEach((h, i) => {
      const eat = hat.index(i);
      const e = asObj(h, eat);
      optTimestamp(e, 'created', eat);
      optString(e, 'created_by', eat);
      optString(e, 'author', eat);
      optString(e, 'comment', eat);
      optBool(e, 'empty_layer', eat);
      if ((e as HistoryEntry).empty_layer !== true) nonEmpty++;
    });
    // Docker's image store rejects more non-empty history entries than layers, never fewer.
    if (nonEmpty > diffIds.length) {
      throw hat.err(`${nonEmpty} entries without empty_layer but rootfs.diff_ids has only ${diffIds.length} layers`);
    }
  }
  return o as ImageConfig;
}

/** Parse and validate an image config (OCI image config or Docker container image config). */
export function parseImageConfig(bytes: Buffer | string, where: string): ImageConfig {
  return validateImageConfig(parseJsonObject(bytes, where, 'an image config'), new Loc(where, ''));
}

/**
 * The manifest and its config must describe the same layers: as many diff_ids as layer
 * descriptors (Docker refuses the pull otherwise: "layers from manifest don't match image
 * configuration").
 */
export function checkManifestConfig(manifest: ImageManifest, config: ImageConfig, where = 'image'): void {
  const n = manifest.layers.length;
  const m = config.rootfs.diff_ids.length;
  if (n !== m) {
    throw new InvalidArgumentError(
      `${where}: manifest has ${n} layer${n === 1 ? '' : 's'} but config rootfs.diff_ids has ${m}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// oci-layout

/** Parse the `oci-layout` file; image layout versions other than 1.x are unsupported. */
export function parseOciLayout(bytes: Buffer | string, where: string): OciLayoutFile {
  const o = parseJsonObject(bytes, where, 'an oci-layout file');
  const at = new Loc(where, '');
  const v = reqString(o, 'imageLayoutVersion', at);
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw at.key('imageLayoutVersion').err(`invalid version ${JSON.stringify(v)}: expected e.g. "1.0.0"`);
  if (!v.startsWith('1.')) throw new UnsupportedError(`${where}: image layout version ${v} is not supported (expected 1.x)`);
  return o as OciLayoutFile;
}
