/**
 * Read-only views of stored images, in the shapes Docker's `images`, `history` and `inspect`
 * show: typed rows with raw values; the CLI formats them.
 */
import type { Digest } from '../digest/digest.js';
import type { Store } from '../store/store.js';
import { type ImageRecord, childrenOf, getImage, imageLayers, listImages, repoDigestsOf, tagsOf } from '../metadata/records.js';
import { parseNormalizedReference, parseReference, type Reference } from '../reference/reference.js';
import { dockerContainerConfig } from '../oci/docker-config.js';
import { readConfig } from './config.js';
import { resolveImage } from './resolve.js';
import { pathMatch } from './pathmatch.js';
import { layerSizes } from './size.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';

export interface ImageRow {
  id: Digest;
  repository: string;
  tag: string;
  digest: string;
  /** Creation time from the image config, ms since the epoch (0 when unknown). */
  created: number;
  /** The bytes of the files its layers hold, as Docker counts them (size.ts). */
  size: number;
  dangling: boolean;
}

export interface ListOptions {
  all?: boolean;
  /** Rows per repository digest (`--digests`); without, a tag's row says `<none>` and a digest-only repository has one row. */
  digests?: boolean;
  /** Docker's filters: dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE, label=KEY[=VALUE]. */
  filters?: string[];
}

interface Filters {
  dangling?: boolean;
  references: string[];
  before?: number;
  since?: number;
  labels: Array<[string, string | undefined]>;
}

const FILTER_KEYS = new Set(['dangling', 'reference', 'before', 'since', 'label']);

/**
 * Docker's image filters: `name=value` (the name lower-cased and both trimmed, as its CLI reads
 * them; repeated values kept once), then as its daemon checks them — every name first
 * ("Invalid filter 'bogus'"), then dangling (true wins over false; anything else "Invalid
 * filter 'dangling=[maybe]'"), then before and since (an image each).
 */
function parseFilters(store: Store, raw: string[]): Filters {
  const f: Filters = { references: [], labels: [] };
  const values = new Map<string, string[]>();
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`bad format of filter (expected name=value): ${item}`);
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    const list = values.get(key) ?? [];
    if (!list.includes(value)) list.push(value);
    values.set(key, list);
  }
  for (const key of values.keys()) if (!FILTER_KEYS.has(key)) throw new InvalidArgumentError(`Invalid filter '${key}'`);
  const dangling = values.get('dangling');
  if (dangling !== undefined) {
    if (dangling.includes('true')) f.dangling = true;
    else if (dangling.includes('false')) f.dangling = false;
    else throw new InvalidArgumentError(`Invalid filter 'dangling=[${dangling.join(' ')}]'`);
  }
  for (const value of values.get('before') ?? []) f.before = createdMs(resolveImage(store.db, value, DAEMON).image);
  for (const value of values.get('since') ?? []) f.since = createdMs(resolveImage(store.db, value, DAEMON).image);
  f.references.push(...(values.get('reference') ?? []));
  for (const value of values.get('label') ?? []) {
    const i = value.indexOf('=');
    f.labels.push(i < 0 ? [value, undefined] : [value.slice(0, i), value.slice(i + 1)]);
  }
  return f;
}

/** As Docker 20.10's daemon finds an image (GetImage): its words for a bad name, `name:latest` for a missing one. */
const DAEMON = { docker20: true, missingAsTagged: true } as const;

function createdMs(img: ImageRecord): number {
  const t = img.created ? Date.parse(img.created) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** Docker's reference filter (reference.FamiliarMatch): the pattern against `name:tag` (or `name@digest`), else the name. */
function referenceMatches(pattern: string, canonical: string): boolean {
  const ref = parseReference(canonical);
  return pathMatch(pattern, ref.familiarString()) || pathMatch(pattern, ref.familiarName);
}

export async function listImageRows(store: Store, opts: ListOptions = {}): Promise<ImageRow[]> {
  const db = store.db;
  const filters = parseFilters(store, opts.filters ?? []);
  const rows: ImageRow[] = [];
  const needLabels = filters.labels.length > 0;
  // A malformed pattern fails the listing at the first name it is matched against, as Docker's
  // daemon matches it name by name: a store with no named image lists nothing, without an error.
  const selected = (name: string): boolean => filters.references.length === 0 || filters.references.some((p) => referenceMatches(p, name));
  for (const img of listImages(db)) {
    const children = childrenOf(db, img.id).length;
    // dangling=true lists only images without children (Docker's image store Heads).
    if (filters.dangling === true && children > 0) continue;
    const created = createdMs(img);
    if (filters.before !== undefined && !(created < filters.before)) continue;
    if (filters.since !== undefined && !(created > filters.since)) continue;
    if (needLabels) {
      const { config } = await readConfig(store.content, img.id);
      const labels = config.config?.Labels ?? {};
      if (!filters.labels.every(([k, v]) => k in labels && (v === undefined || labels[k] === v))) continue;
    }
    const tags = tagsOf(db, img.id).filter(selected);
    const digests = repoDigestsOf(db, img.id).filter(selected);
    const dangling = tags.length === 0 && digests.length === 0;
    if (dangling) {
      // Untagged images with children are intermediate images: shown only with -a.
      if (!opts.all && children > 0) continue;
      if (filters.dangling === false || filters.references.length > 0) continue;
    } else if (filters.dangling === true && tags.length > 0) continue;
    const size = (await layerSizes(store, imageLayers(db, img.id))).reduce((a, b) => a + b, 0);
    const base = { id: img.id, created, size, dangling };
    if (dangling) {
      rows.push({ ...base, repository: '<none>', tag: '<none>', digest: '<none>' });
      continue;
    }
    // The CLI's rows (imageFormatTaggedAndDigest): one per tag — per tag and digest of its
    // repository with --digests — and one for a repository named by digests alone.
    const byRepo = (names: string[], part: (r: Reference) => string): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const n of names) {
        const r = parseReference(n);
        m.set(r.familiarName, [...(m.get(r.familiarName) ?? []), part(r)]);
      }
      return m;
    };
    const repoTags = byRepo(tags, (r) => r.tag!);
    const repoDigests = byRepo(digests, (r) => r.digest!);
    for (const [repo, ts] of [...repoTags].sort()) {
      const ds = opts.digests ? (repoDigests.get(repo) ?? []) : [];
      repoDigests.delete(repo);
      for (const tag of ts.sort()) {
        if (ds.length === 0) rows.push({ ...base, repository: repo, tag, digest: '<none>' });
        else for (const d of ds) rows.push({ ...base, repository: repo, tag, digest: d });
      }
    }
    for (const [repo, ds] of [...repoDigests].sort()) {
      if (opts.digests) for (const d of ds) rows.push({ ...base, repository: repo, tag: '<none>', digest: d });
      else rows.push({ ...base, repository: repo, tag: '<none>', digest: '' });
    }
  }
  rows.sort((a, b) => b.created - a.created);
  return rows;
}

export interface HistoryRow {
  /** Image ID for entries that belong to a locally known image, else undefined (`<missing>`). */
  id: Digest | undefined;
  /** ms since the epoch; 0 when the entry has no time. */
  created: number;
  createdBy: string;
  size: number;
  comment: string;
  tags: string[];
}

/** Docker's history: newest first; IDs along the local parent chain, `<missing>` past it. */
export async function imageHistory(store: Store, name: string): Promise<HistoryRow[]> {
  const { image } = resolveImage(store.db, name, DAEMON);
  const { config } = await readConfig(store.content, image.id);
  const sizes = await layerSizes(store, imageLayers(store.db, image.id));
  const rows: HistoryRow[] = [];
  let layerIndex = 0;
  for (const h of config.history ?? []) {
    let size = 0;
    if (!h.empty_layer) {
      size = sizes[layerIndex] ?? 0;
      layerIndex++;
    }
    const t = h.created ? Date.parse(h.created) : NaN;
    rows.unshift({ id: undefined, created: Number.isNaN(t) ? 0 : t, createdBy: h.created_by ?? '', size, comment: h.comment ?? '', tags: [] });
  }
  let cur: ImageRecord | undefined = image;
  for (const row of rows) {
    if (!cur) break;
    row.id = cur.id;
    row.tags = tagsOf(store.db, cur.id).map((t) => parseReference(t).familiarString());
    cur = cur.parent ? getImage(store.db, cur.parent) : undefined;
  }
  return rows;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * A time as Go's RFC3339Nano prints it: the fraction of a second without its trailing zeros
 * (none when it is zero), the zone as written. A string that is not such a time is kept.
 */
export function rfc3339Nano(t: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(t);
  if (!m) return t;
  const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = /^[+-]00:00$/.test(m[3]!) ? 'Z' : m[3]!.toUpperCase();
  return `${m[1]}${frac ? `.${frac}` : ''}${zone}`;
}

/** Docker's container.Config as `docker inspect` prints it; null when the image has none. */
function inspectConfig(c: Record<string, unknown> | undefined): InspectContainerConfig | null {
  return c ? dockerContainerConfig(c) : null;
}

/**
 * Docker's container.Config as `docker inspect` prints it (keys in Docker's order; optional
 * ones present only when set).
 */
export type InspectContainerConfig = Record<string, unknown>;

/** `docker image inspect` for one image, with Docker's keys in Docker's order. */
export interface ImageInspect {
  Id: Digest;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container: string;
  ContainerConfig: InspectContainerConfig | null;
  DockerVersion: string;
  Author: string;
  Config: InspectContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Data: Record<string, string> | null; Name: string };
  RootFS: { Type: 'layers'; Layers: Digest[] };
  Metadata: { LastTagTime: string };
}

/** `docker image inspect` JSON for one image. */
export async function inspectImage(store: Store, name: string): Promise<ImageInspect> {
  let image: ImageRecord;
  try {
    ({ image } = resolveImage(store.db, name, { docker20: true }));
  } catch (e) {
    // Docker's LookupImage: "no such image: NAME: " before what GetImage said of a bad name
    if (e instanceof InvalidArgumentError) throw new NotFoundError(`no such image: ${name}: ${e.message}`, { cause: e });
    throw e;
  }
  const { config } = await readConfig(store.content, image.id);
  const layers = imageLayers(store.db, image.id);
  const size = (await layerSizes(store, layers)).reduce((a, b) => a + b, 0);
  const top = image.topChainId;
  const sn = top !== null ? await store.snapshots() : undefined;
  const graphData = sn !== undefined && sn.isCommitted(top!) ? await sn.graphDriverData(top!) : null;
  const str = (k: string): string => (typeof config[k] === 'string' ? (config[k] as string) : '');
  return {
    Id: image.id,
    RepoTags: tagsOf(store.db, image.id).map((t) => parseNormalizedReference(t).familiarString()),
    RepoDigests: repoDigestsOf(store.db, image.id).map((t) => parseNormalizedReference(t).familiarString()),
    Parent: image.parent ?? '',
    // Docker 20.10: the config's comment, else the last history entry's (a commit's message).
    Comment: str('comment') || (config.history?.at(-1)?.comment ?? ''),
    Created: rfc3339Nano(config.created ?? ZERO_TIME),
    Container: str('container'),
    ContainerConfig: inspectConfig((config.container_config as Record<string, unknown> | undefined) ?? {}),
    DockerVersion: str('docker_version'),
    Author: config.author ?? '',
    Config: inspectConfig(config.config),
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    ...(config['os.version'] ? { OsVersion: config['os.version'] } : {}),
    Size: size,
    VirtualSize: size,
    // The storage driver the store's layers are unpacked with (recorded on first use).
    // The storage driver's description of the image's top layer (overlay: its directories).
    GraphDriver: { Data: graphData, Name: store.recordedDriver ?? '' },
    RootFS: { Type: 'layers', Layers: layers.map((l) => l.diffId) },
    Metadata: { LastTagTime: rfc3339Nano(image.lastTagTime ?? ZERO_TIME) },
  };
}
