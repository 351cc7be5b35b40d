/**
 * Volumes as Docker's CLI shows them: the `volume inspect` document (types.Volume) and the
 * struct its templates run over, the `volume ls` listing (formatter.volumeContext), and the
 * flag errors of the volume commands. The document is what a top-level `inspect` of a volume
 * will print too (`volumeDocument`, `typedVolume`).
 */
import type { Command } from 'commander';
import type { Volume } from '../volume/index.js';
import { GoNil, GoStruct, goJSON } from '../template/index.js';
import { labelHeader, rfc3339, type Listing } from './format.js';

/** Docker's types.Volume as `volume inspect` prints it (fields in Docker's order). */
export interface VolumeDocument {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
}

export function volumeDocument(v: Volume): VolumeDocument {
  return { CreatedAt: rfc3339(v.createdAt), Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint, Name: v.name, Options: v.options, Scope: 'local' };
}

/** The document as the Go struct Docker's template sees (types.Volume: nil maps print `map[]`, no UsageData `<nil>`). */
export function typedVolume(d: VolumeDocument): GoStruct {
  return new GoStruct(
    'types.Volume',
    {
      CreatedAt: d.CreatedAt,
      Driver: d.Driver,
      Labels: d.Labels ?? new GoNil('map', 'map[string]string'),
      Mountpoint: d.Mountpoint,
      Name: d.Name,
      Options: d.Options ?? new GoNil('map', 'map[string]string'),
      Scope: d.Scope,
      Status: new GoNil('map', 'map[string]interface {}'),
      UsageData: new GoNil('ptr', '*types.VolumeUsageData'),
    },
    () => goJSON(d, false),
  );
}

/** Labels as `volume ls` joins them: KEY=VALUE, comma-separated (sorted: Docker's order is a map's). */
function joinLabels(labels: Record<string, string> | null): string {
  return Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${labels![k]}`)
    .join(',');
}

/** `volume ls`'s listing: DRIVER and VOLUME NAME by default; Links and Size are N/A as Docker's without usage data. */
export function volumeListing(volumes: readonly Volume[]): Listing {
  return {
    rowType: '*formatter.volumeContext',
    columns: [
      ['Driver', 'DRIVER'],
      ['Name', 'VOLUME NAME'],
    ],
    headers: { Labels: 'LABELS', Links: 'LINKS', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', Size: 'SIZE' },
    rows: volumes.map((v) => ({ Driver: v.driver, Labels: joinLabels(v.labels), Links: 'N/A', Mountpoint: v.mountpoint, Name: v.name, Scope: 'local', Size: 'N/A' })),
    methods: (i) => ({ Label: (key: string) => volumes[i]!.labels?.[key] ?? '' }),
    headerMethods: { Label: labelHeader },
  };
}

/** `cairn volume ls`, as the command names itself in hints. */
function commandName(cmd: Command): string {
  const path: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  return ['cairn', ...path].join(' ');
}

/** Docker's error for a flag value it refuses (pflag's words, the help hint), exit 125. */
export function flagError(cmd: Command, flag: string, value: string, why: string): void {
  process.stderr.write(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}\nSee '${commandName(cmd)} --help'.\n`);
  process.exitCode = 125;
}

/** The first `--filter` value that is not KEY=VALUE, which Docker refuses as a flag error. */
export function badFilter(filters: readonly string[]): string | undefined {
  return filters.find((f) => !f.includes('='));
}
