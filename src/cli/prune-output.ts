/**
 * What the prune commands print, as Docker's CLI prints it (each cli/command package's
 * prune.go): a part's section — its heading and one line per object — then a blank line
 * (Fprintln of a text ending in a newline), nothing for a part that removed nothing; last,
 * "Total reclaimed space: SIZE" (go-units HumanSize: decimal, four significant digits).
 */
import type { RemoveEvent } from '../image/tags.js';
import { humanSize } from './format.js';
import { out } from './context.js';

/** A part's section (with its blank line), or '' when it removed nothing. */
function section(heading: string, lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${heading}\n${lines.map((l) => `${l}\n`).join('')}\n`;
}

export function containersSection(ids: readonly string[]): string {
  return section('Deleted Containers:', ids);
}

export function volumesSection(names: readonly string[]): string {
  return section('Deleted Volumes:', names);
}

/** Prune says untagged/deleted in lower case where rmi says Untagged/Deleted. */
export function imagesSection(events: readonly RemoveEvent[]): string {
  return section('Deleted Images:', events.map((e) => ('untagged' in e ? `untagged: ${e.untagged}` : `deleted: ${e.deleted}`)));
}

export function buildCacheSection(ids: readonly string[]): string {
  return section('Deleted build cache objects:', ids);
}

export function printTotal(bytes: number): void {
  out(`Total reclaimed space: ${humanSize(bytes, 4)}\n`);
}
