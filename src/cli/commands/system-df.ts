/**
 * `cairn system df [-v] [--format]`: Docker 20.10's disk usage summary — a line per type (TYPE,
 * TOTAL, ACTIVE, SIZE, RECLAIMABLE) — and with `-v` its sections: images (SIZE, SHARED SIZE,
 * UNIQUE SIZE, CONTAINERS), containers (`ps`'s row with its writable layer's SIZE), local
 * volumes (LINKS, SIZE) and the build cache. Plus cairn's own line and section, last:
 * "Compressed Blobs", the compressed layer blobs kept beside the layers (compressed-blobs=keep).
 *
 * Sizes are bytes on disk, each thing counted once (disk-usage/), printed as Docker's CLI
 * prints them (go-units HumanSize: 4 significant digits; a row's `.Size` of an image or
 * container 3); RECLAIMABLE with its share of SIZE in whole percent, but the build cache's.
 * `--format`: `table` (the default), `json` (a line per type; with `-v` one object of the
 * sections, as Docker's `{{json .}}`), `table TEMPLATE`, or a Go template — per type, or with
 * `-v` run once over the sections (`.Images`, `.Containers`, `.Volumes`, `.BuildCache`,
 * `.CompressedBlobs`).
 */
import type { Command } from 'commander';
import type { Cairn } from '../../engine.js';
import type { DiskUsage, UsageTotals } from '../../disk-usage/index.js';
import { shortId } from '../../digest/digest.js';
import { imageListColumns, parseNormalizedReference } from '../../reference/reference.js';
import { GoStruct } from '../../template/index.js';
import { createdSince, execute, goJson, goTimeString, humanSize, parseFormat, renderListing, table, type FieldRow, type Listing } from '../format.js';
import { out, withCairn } from '../context.js';
import { volumeListing } from '../volume.js';

interface Opts {
  verbose?: boolean;
  format?: string;
}

/** go-units HumanSize (4 significant digits), as Docker prints disk usage. */
const size4 = (n: number): string => humanSize(n, 4);

/** RECLAIMABLE: the bytes, and their whole percent of the type's SIZE when there is one. */
function reclaimable(t: UsageTotals, percent: boolean): string {
  if (!percent || t.size <= 0) return size4(t.reclaimable);
  return `${size4(t.reclaimable)} (${Math.trunc((t.reclaimable * 100) / t.size)}%)`;
}

/** The summary: Docker's four lines, then the compressed blobs'. */
function summary(du: DiskUsage): Listing {
  const row = (type: string, t: UsageTotals, percent = true): FieldRow => ({ Active: String(t.active), Reclaimable: reclaimable(t, percent), Size: size4(t.size), TotalCount: String(t.count), Type: type });
  return {
    rowType: '*formatter.diskUsageImagesContext',
    columns: [
      ['Type', 'TYPE'],
      ['TotalCount', 'TOTAL'],
      ['Active', 'ACTIVE'],
      ['Size', 'SIZE'],
      ['Reclaimable', 'RECLAIMABLE'],
    ],
    rows: [row('Images', du.images), row('Containers', du.containers), row('Local Volumes', du.volumes), row('Build Cache', du.buildCache, false), row('Compressed Blobs', du.compressedBlobs)],
  };
}

/** Go's time.Time.String() with its fraction (trailing zeros dropped), as BuildKit's times print. */
function goTimeFraction(ms: number): string {
  const s = goTimeString(ms);
  const frac = String(ms % 1000).padStart(3, '0').replace(/0+$/, '');
  return frac === '' ? s : `${s.slice(0, 19)}.${frac}${s.slice(19)}`;
}

/** The sections of `-v`, as rows of Docker's field names; IDs cut short when `trunc` (a table). */
async function sections(cairn: Cairn, du: DiskUsage, trunc: boolean): Promise<Record<'Images' | 'Containers' | 'Volumes' | 'BuildCache' | 'CompressedBlobs', FieldRow[]>> {
  const now = Date.now();
  const Images = du.images.items.map((i): FieldRow => {
    // Docker shows an image's first name alone.
    const first = i.repoTags[0];
    const { repository, tag } = first === undefined ? { repository: '<none>', tag: '<none>' } : imageListColumns(parseNormalizedReference(first));
    return {
      Containers: String(i.containers),
      CreatedAt: i.created > 0 ? goTimeString(i.created) : 'N/A',
      CreatedSince: createdSince(i.created, now),
      Digest: '',
      ID: trunc ? shortId(i.id) : i.id,
      Repository: repository,
      SharedSize: size4(i.sharedSize),
      Size: humanSize(i.size),
      Tag: tag,
      UniqueSize: size4(i.size - i.sharedSize),
      VirtualSize: size4(i.size),
    };
  });
  const sizes = new Map(du.containers.items.map((c) => [c.id, c.size]));
  const rows = await cairn.containerRows({ all: true, limit: 0, filters: new Map() }, { trunc, now });
  const Containers = rows.filter(({ container }) => sizes.has(container.id)).map(({ container, row }): FieldRow => ({ ...row, Size: humanSize(sizes.get(container.id)!) }));
  const volumeRows = volumeListing(du.volumes.items.map((v) => v.volume)).rows;
  const Volumes = du.volumes.items.map((v, n): FieldRow => ({ ...volumeRows[n]!, Links: String(v.links), Size: size4(v.size) }));
  const BuildCache = [...du.buildCache.items]
    .sort((a, b) => a.lastUsed - b.lastUsed || a.created - b.created)
    .map((e): FieldRow => ({
      CacheType: e.type,
      CreatedAt: goTimeFraction(e.created),
      CreatedSince: createdSince(e.created, now),
      Description: e.description,
      ID: trunc ? e.id.slice(0, 12) : e.id,
      InUse: String(e.inUse),
      LastUsedAt: goTimeFraction(e.lastUsed),
      LastUsedSince: createdSince(e.lastUsed, now),
      Parent: trunc ? e.parent.slice(0, 12) : e.parent,
      Shared: String(e.shared),
      Size: size4(e.size),
      // cairn does not count an entry's uses
      UsageCount: 'N/A',
    }));
  const CompressedBlobs = du.compressedBlobs.items.map((b): FieldRow => ({ Digest: trunc ? shortId(b.digest) : b.digest, Images: String(b.images), Size: size4(b.size) }));
  return { Images, Containers, Volumes, BuildCache, CompressedBlobs };
}

/** The columns of each `-v` table: Docker's default formats, and cairn's for the compressed blobs. */
const COLUMNS = {
  Images: [['Repository', 'REPOSITORY'], ['Tag', 'TAG'], ['ID', 'IMAGE ID'], ['CreatedSince', 'CREATED'], ['VirtualSize', 'SIZE'], ['SharedSize', 'SHARED SIZE'], ['UniqueSize', 'UNIQUE SIZE'], ['Containers', 'CONTAINERS']],
  Containers: [['ID', 'CONTAINER ID'], ['Image', 'IMAGE'], ['Command', 'COMMAND'], ['LocalVolumes', 'LOCAL VOLUMES'], ['Size', 'SIZE'], ['RunningFor', 'CREATED'], ['Status', 'STATUS'], ['Names', 'NAMES']],
  Volumes: [['Name', 'VOLUME NAME'], ['Links', 'LINKS'], ['Size', 'SIZE']],
  BuildCache: [['ID', 'CACHE ID'], ['CacheType', 'CACHE TYPE'], ['Size', 'SIZE'], ['CreatedSince', 'CREATED'], ['LastUsedSince', 'LAST USED'], ['UsageCount', 'USAGE'], ['Shared', 'SHARED']],
  CompressedBlobs: [['Digest', 'BLOB DIGEST'], ['Size', 'SIZE'], ['Images', 'IMAGES']],
} as const;

function sectionTable(rows: readonly FieldRow[], columns: ReadonlyArray<readonly [string, string]>): string {
  return table([columns.map(([, h]) => h), ...rows.map((r) => columns.map(([f]) => r[f] ?? ''))]);
}

/** The Go types Docker's formatter gives each section's rows (their names show in template errors). */
const ROW_TYPES = { Images: '*formatter.imageContext', Containers: '*formatter.ContainerContext', Volumes: '*formatter.volumeContext', BuildCache: '*formatter.buildCacheContext', CompressedBlobs: '*formatter.compressedBlobContext' } as const;

function sortKeys(r: FieldRow): FieldRow {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<Opts>();
  const format = o.format ?? '';
  // A template is parsed before the store is read (Docker's CLI fails before asking its daemon).
  const template = format === '' || format === 'table' || format === 'json' ? undefined : parseFormat(format.replace(/^table/, '').replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  await withCairn(program, async (cairn) => {
    const du = await cairn.diskUsage();
    if (!o.verbose) {
      out(renderListing(summary(du), o.format));
      return;
    }
    const isTable = format === '' || format.startsWith('table');
    const s = await sections(cairn, du, isTable);
    if (template === undefined && format !== 'json') {
      out(
        'Images space usage:\n\n' +
          sectionTable(s.Images, COLUMNS.Images) +
          '\nContainers space usage:\n\n' +
          sectionTable(s.Containers, COLUMNS.Containers) +
          '\nLocal Volumes space usage:\n\n' +
          sectionTable(s.Volumes, COLUMNS.Volumes) +
          `\nBuild cache usage: ${size4(du.buildCache.size)}\n\n` +
          sectionTable(s.BuildCache, COLUMNS.BuildCache) +
          `\nCompressed blobs usage: ${size4(du.compressedBlobs.size)}\n\n` +
          sectionTable(s.CompressedBlobs, COLUMNS.CompressedBlobs),
      );
      return;
    }
    // Docker runs the template once over its diskUsageContext: each section a slice of its row structs.
    const fields: Record<string, GoStruct[]> = {};
    for (const key of ['Images', 'Containers', 'Volumes', 'BuildCache', 'CompressedBlobs'] as const) {
      fields[key] = s[key].map((r) => new GoStruct(ROW_TYPES[key], r, () => goJson(sortKeys(r))));
    }
    const data = new GoStruct('*formatter.diskUsageContext', fields);
    out(`${template === undefined ? execute(parseFormat('{{json .}}'), data) : execute(template, data)}\n`);
  });
}
