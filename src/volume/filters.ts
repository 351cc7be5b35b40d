/**
 * `volume ls --filter` and `volume prune --filter`, as Docker 20.10's volume service reads
 * them: `KEY=VALUE` words grouped by key; ls accepts dangling, driver, label and name, prune
 * label and label!; anything else is Docker's "Invalid filter 'KEY'". Pure: whether a volume
 * is in use comes from the caller.
 */
import { InvalidArgumentError } from '../errors.js';

export type FilterUse = 'list' | 'prune';

const ACCEPTED: Record<FilterUse, readonly string[]> = {
  list: ['dangling', 'driver', 'label', 'name'],
  prune: ['label', 'label!', 'all'],
};

/** What a filter looks at of a volume. */
export interface FilterSubject {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
}

/** Parsed filters: a predicate over a volume, told whether the volume is in use. */
export interface VolumeFilter {
  /** Whether the filter asks about use at all (callers skip asking otherwise). */
  readonly needsUse: boolean;
  /** prune's `all=` (Docker 23+): named volumes too when true; undefined when not given. */
  readonly all: boolean | undefined;
  matches(v: FilterSubject, inUse: () => boolean): boolean;
}

/** Docker's filters.Args: values per key, a value given twice kept once. */
function group(filters: readonly string[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`bad format of filter (expected name=value): ${f}`);
    const key = f.slice(0, eq);
    const value = f.slice(eq + 1);
    const values = by.get(key) ?? [];
    if (!values.includes(value)) values.push(value);
    by.set(key, values);
  }
  return by;
}

/** filters.Args.MatchKVList: every `K` or `K=V` in `wanted` is among `labels` (nothing wanted: true). */
export function matchKVList(wanted: readonly string[] | undefined, labels: Record<string, string> | null): boolean {
  if (!wanted || wanted.length === 0) return true;
  if (!labels || Object.keys(labels).length === 0) return false;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(labels, key)) return false;
    return eq < 0 || labels[key] === w.slice(eq + 1);
  });
}

/**
 * A `name=` value is a regular expression matched anywhere in the name (filters.Args.Match:
 * an exact match, else an unanchored regexp; one Go cannot compile matches nothing).
 */
function nameMatcher(pattern: string): (name: string) => boolean {
  let re: RegExp | undefined;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // Docker skips a pattern that does not compile: only an exact match counts then.
    re = undefined;
  }
  return (name) => name === pattern || (re !== undefined && re.test(name));
}

/** strconv.ParseBool's words. */
function goBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Parse `filters` (KEY=VALUE words) for `use`; Docker's errors for a key or value it refuses. */
export function parseVolumeFilters(filters: readonly string[], use: FilterUse): VolumeFilter {
  const by = group(filters);
  for (const key of by.keys()) {
    if (!ACCEPTED[use].includes(key)) throw new InvalidArgumentError(`Invalid filter '${key}'`);
  }
  const drivers = by.get('driver');
  const names = by.get('name')?.map(nameMatcher);
  const labels = by.get('label');
  const notLabels = by.get('label!');
  let dangling: boolean | undefined;
  const d = by.get('dangling');
  if (d !== undefined) {
    if (d.includes('true') || d.includes('1')) dangling = true;
    else if (d.includes('false') || d.includes('0')) dangling = false;
    else throw new InvalidArgumentError(`Invalid filter 'dangling=[${[...d].sort().join(' ')}]'`);
  }
  let all: boolean | undefined;
  const a = by.get('all');
  if (a !== undefined) {
    // Docker 23's volume service: one value, a Go boolean
    const b = a.length === 1 ? goBool(a[0]!) : undefined;
    if (b === undefined) throw new InvalidArgumentError(`invalid filter 'all=${a.join(' ')}': invalid syntax`);
    all = b;
  }
  return {
    needsUse: dangling !== undefined,
    all,
    matches(v, inUse) {
      if (drivers && !drivers.includes(v.driver)) return false;
      if (names && !names.some((m) => m(v.name))) return false;
      if (!matchKVList(labels, v.labels)) return false;
      if (notLabels && notLabels.length > 0 && matchKVList(notLabels, v.labels)) return false;
      if (dangling !== undefined && inUse() === dangling) return false;
      return true;
    },
  };
}
