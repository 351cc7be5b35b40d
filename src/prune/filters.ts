/**
 * The `--filter` words of the prune commands, as Docker 20.10's daemon reads them: KEY=VALUE
 * grouped by key (a value given twice kept once), each command's accepted keys (anything else
 * is "Invalid filter 'KEY'"), `until` once at most ("more than one until filter specified"),
 * `label=K[=V]` / `label!=K[=V]` as filters.Args.MatchKVList matches them. *pure*
 *
 * `until` of images and containers is Docker's timetypes.GetTimestamp — a Go duration back from
 * now, an RFC 3339 date or a Unix time (container/logtime.ts); of the build cache, a Go
 * duration only, as BuildKit's "unused for" (Docker's words when it is not one).
 */
import { InvalidArgumentError } from '../errors.js';
import { parseLogTime } from '../container/logtime.js';
import { parseGoDuration } from '../container/units.js';
import { matchKVList } from '../volume/filters.js';

export type PruneKind = 'image' | 'container' | 'build-cache';

const ACCEPTED: Record<PruneKind, readonly string[]> = {
  image: ['dangling', 'label', 'label!', 'until'],
  container: ['label', 'label!', 'until'],
  'build-cache': ['label', 'label!', 'until', 'unused-for'],
};

export interface PruneFilter {
  /**
   * Images, containers: only what was created at or before this time (milliseconds since the
   * epoch). Build cache: only what was last used at or before it (now minus the duration).
   */
  until: number | undefined;
  /** image prune's `dangling=`: false (all unused images) when given as false/0; undefined when not given. */
  dangling: boolean | undefined;
  /** Whether something with `labels` (null: none) passes the label filters. */
  matchesLabels(labels: Record<string, string> | null | undefined): boolean;
}

function group(filters: readonly string[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`bad format of filter (expected name=value): ${f}`);
    const key = f.slice(0, eq);
    const values = by.get(key) ?? [];
    if (!values.includes(f.slice(eq + 1))) values.push(f.slice(eq + 1));
    by.set(key, values);
  }
  return by;
}

/** Parse `filters` for a prune of `kind`, `now` being the time durations count back from. */
export function parsePruneFilters(filters: readonly string[], kind: PruneKind, now: Date = new Date()): PruneFilter {
  const by = group(filters);
  for (const key of by.keys()) {
    if (!ACCEPTED[kind].includes(key)) throw new InvalidArgumentError(`Invalid filter '${key}'`);
  }
  let dangling: boolean | undefined;
  const d = by.get('dangling');
  if (d !== undefined) {
    // Docker's ImagesPrune: ExactMatch of false/0, else of true/1, else an invalid filter
    if (d.includes('false') || d.includes('0')) dangling = false;
    else if (d.includes('true') || d.includes('1')) dangling = true;
    else throw new InvalidArgumentError(`Invalid filter 'dangling=[${d.join(' ')}]'`);
  }
  const untilValues = [...(by.get('until') ?? []), ...(by.get('unused-for') ?? [])];
  if (untilValues.length > 1) throw new InvalidArgumentError('more than one until filter specified');
  const until = untilValues.length === 0 ? undefined : kind === 'build-cache' ? unusedFor(untilValues[0]!, by.has('until') ? 'until' : 'unused-for', now) : timestamp(untilValues[0]!, now);
  const labels = by.get('label');
  const notLabels = by.get('label!');
  return {
    until,
    dangling,
    matchesLabels(l) {
      if (!matchKVList(labels, l ?? null)) return false;
      // MatchKVList is true for a key not given: label! excludes only when given
      return !(notLabels !== undefined && notLabels.length > 0 && matchKVList(notLabels, l ?? null));
    },
  };
}

/** Docker's GetTimestamp as prune reads it (the daemon's error, without the logs flag's words). */
function timestamp(value: string, now: Date): number {
  try {
    return Number(parseLogTime(value, now, 'until') / 1_000_000n);
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    throw new InvalidArgumentError(e.message.replace(/^invalid value for "until": /, ''), { cause: e });
  }
}

/** BuildKit's `until`/`unused-for`: a Go duration (Docker's words otherwise); the moment that long ago. */
function unusedFor(value: string, key: string, now: Date): number {
  let ns: number;
  try {
    ns = parseGoDuration(value);
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    throw new InvalidArgumentError(`"${key}" filter expects a duration (e.g., '24h'): ${e.message}`, { cause: e });
  }
  return now.getTime() - Math.floor(ns / 1e6);
}
