/**
 * `ps --filter` and `-a`/`-n`/`-l`, as Docker 20.10's daemon selects containers
 * (daemon/list.go): the filter names it accepts, each value checked in its order and refused
 * in its words, then every container (newest first) taken or left by its rules. *pure*
 *
 * - keys: ancestor, before, exited, expose, health, id, is-task, isolation, label, name,
 *   network, publish, since, status, volume; another is "Invalid filter 'KEY'";
 * - checked in order: exited (an integer: strconv.Atoi's error), status (a state's name:
 *   "Invalid filter 'status=X'", and it shows stopped containers too), is-task (true or false),
 *   health (starting, healthy, unhealthy, none: "Unrecognised filter value for health: X"),
 *   before and since (a container by full ID or name: "no such container X"), publish and
 *   expose (a port or a range, with no ':');
 * - id: a unique prefix of an ID (an empty or ambiguous one matches nothing); name: equal, or
 *   a regular expression found in the name with or without its `/`; label: every value
 *   matches (KEY, or KEY=VALUE); exited: a container that ran and stopped with one of the
 *   codes; status, health, network, volume (a mount's destination, or its volume's name or
 *   source), ancestor (the image or an image made from it), isolation (`default`): any value;
 *   publish and expose: cairn publishes no ports, so nothing matches;
 * - before=X leaves out X and everything newer; since=X keeps only what is newer than X;
 *   `-n`/`-l` keep the first N of what matched; without `-a`, `-n` or a status filter only
 *   running (and paused, restarting) containers are listed.
 */
import { InvalidArgumentError } from '../errors.js';
import { goQuote } from '../template/fmt.js';

/** What the filters look at in one container. */
export interface PsFilterFacts {
  /** 64 hex digits. */
  id: string;
  /** Without its leading `/`. */
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Docker's State string: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  /** Docker's State.Running: running, paused or restarting. */
  running: boolean;
  /** Whether it was ever started. */
  started: boolean;
  exitCode: number;
  /** `none`, or the health check's status. */
  health: string;
  /** The image's ID, `sha256:...`. */
  imageId: string;
  networks: readonly string[];
  mounts: ReadonlyArray<{ name?: string; source: string; destination: string }>;
}

/** What resolving names needs from the store. */
export interface PsFilterLookups {
  /** The ID of the container with this exact full ID or name (trimmed of `/`); "no such container" when none or several. */
  containerByIdOrName(ref: string): string | undefined;
  /** The IDs of the image `ref` names and of every image made from it; undefined when there is none. */
  imageFamily(ref: string): readonly string[] | undefined;
}

/** A `ps` query: the flags and the filters by name (each with its values, in the order given). */
export interface PsQuery {
  all: boolean;
  /** `-n N` (`-l`: 1); 0 or less: no limit. */
  limit: number;
  filters: ReadonlyMap<string, readonly string[]>;
}

const ACCEPTED = new Set(['ancestor', 'before', 'exited', 'id', 'isolation', 'label', 'name', 'status', 'health', 'since', 'volume', 'network', 'is-task', 'publish', 'expose']);
const STATES = new Set(['paused', 'restarting', 'running', 'removing', 'dead', 'created', 'exited']);
const HEALTH = new Set(['starting', 'healthy', 'unhealthy', 'none']);

/** Docker's `filters.Args.Match`: a value equal to the text, or a regular expression found in it (one that does not compile matches nothing). */
function matchOne(value: string, text: string): boolean {
  if (value === text) return true;
  try {
    return new RegExp(value).test(text);
  } catch (e) {
    if (e instanceof SyntaxError) return false;
    throw e;
  }
}

/** nat.ParsePortRange of a publish/expose value's port part. */
function checkPort(key: string, value: string): void {
  if (value.includes(':')) throw new InvalidArgumentError(`filter for '${key}' should not contain ':': ${value}`);
  const port = value.includes('/') ? value.slice(0, value.indexOf('/')) : value;
  const bad = (why: string): InvalidArgumentError => new InvalidArgumentError(`error while looking up for ${key} ${value}: ${why}`);
  if (port === '') throw bad('empty string specified for ports');
  const parts = port.includes('-') ? [port.slice(0, port.indexOf('-')), port.slice(port.indexOf('-') + 1)] : [port, port];
  for (const p of parts) {
    if (!/^\d+$/.test(p) || Number(p) > 65535) throw bad(`strconv.ParseUint: parsing ${goQuote(p)}: ${/^\d+$/.test(p) ? 'value out of range' : 'invalid syntax'}`);
  }
  if (Number(parts[1]) < Number(parts[0])) throw bad(`invalid range specified for port: ${port}`);
}

/** A query checked as Docker's daemon checks it; what selecting needs. */
interface Checked {
  exited: number[];
  taskOnly: boolean | undefined;
  before: string | undefined;
  since: string | undefined;
  images: Set<string> | undefined;
  all: boolean;
}

function check(q: PsQuery, lookups: PsFilterLookups): Checked {
  const f = q.filters;
  for (const key of f.keys()) if (!ACCEPTED.has(key)) throw new InvalidArgumentError(`Invalid filter '${key}'`);
  const values = (key: string): readonly string[] => f.get(key) ?? [];
  const exited = values('exited').map((v) => {
    if (!/^[+-]?\d+$/.test(v)) throw new InvalidArgumentError(`strconv.Atoi: parsing ${goQuote(v)}: invalid syntax`);
    return Number(v);
  });
  let all = q.all;
  for (const v of values('status')) {
    if (!STATES.has(v)) throw new InvalidArgumentError(`Invalid filter 'status=${v}'`);
    all = true;
  }
  let taskOnly: boolean | undefined;
  if (f.has('is-task')) {
    const v = values('is-task');
    if (v.includes('true')) taskOnly = true;
    else if (v.includes('false')) taskOnly = false;
    else throw new InvalidArgumentError(`Invalid filter 'is-task=[${v.join(' ')}]'`);
  }
  for (const v of values('health')) if (!HEALTH.has(v)) throw new InvalidArgumentError(`Unrecognised filter value for health: ${v}`);
  const container = (v: string): string => {
    const id = lookups.containerByIdOrName(v);
    if (id === undefined) throw new InvalidArgumentError(`no such container ${v}`);
    return id;
  };
  let before: string | undefined;
  for (const v of values('before')) before = container(v);
  let since: string | undefined;
  for (const v of values('since')) since = container(v);
  let images: Set<string> | undefined;
  if (f.has('ancestor')) {
    images = new Set();
    for (const v of values('ancestor')) for (const id of lookups.imageFamily(v) ?? []) images.add(id);
  }
  for (const v of values('publish')) checkPort('publish', v);
  for (const v of values('expose')) checkPort('expose', v);
  return { exited, taskOnly, before, since, images, all };
}

/** Whether the filters that name the container (id, name) take it: Docker's filterByNameIDMatches. */
function namedMatch(c: PsFilterFacts, f: ReadonlyMap<string, readonly string[]>, ids: readonly string[]): boolean {
  const idValues = f.get('id') ?? [];
  const names = f.get('name') ?? [];
  if (idValues.length === 0 && names.length === 0) return true;
  const idMatch = idValues.some((v) => v !== '' && c.id.startsWith(v) && ids.filter((x) => x.startsWith(v)).length === 1);
  if (idValues.length > 0 && !idMatch) return false;
  if (names.length === 0) return true;
  return names.some((v) => matchOne(v, `/${c.name}`) || matchOne(v, c.name));
}

/**
 * The containers `ps` lists for query `q`, from all of them newest first; a filter Docker
 * refuses is an InvalidArgumentError in its words.
 */
export function selectContainers<T extends PsFilterFacts>(containers: readonly T[], q: PsQuery, lookups: PsFilterLookups): T[] {
  const c = check(q, lookups);
  const f = q.filters;
  const any = (key: string, test: (v: string) => boolean): boolean => !f.has(key) || (f.get(key) ?? []).some(test);
  const ids = containers.map((x) => x.id);
  const out: T[] = [];
  let before = c.before;
  for (const x of containers) {
    if (!x.running && !c.all && q.limit <= 0) continue;
    if (before !== undefined) {
      if (x.id === before) before = undefined;
      continue;
    }
    if (c.since !== undefined && x.id === c.since) break;
    if (!namedMatch(x, f, ids)) continue;
    const labels = f.get('label') ?? [];
    if (labels.length > 0 && !labels.every((v) => {
      const eq = v.indexOf('=');
      const key = eq < 0 ? v : v.slice(0, eq);
      return key in x.labels && (eq < 0 || x.labels[key] === v.slice(eq + 1));
    })) continue;
    if (c.taskOnly === true) continue;
    if (!any('isolation', (v) => matchOne(v, 'default'))) continue;
    if (q.limit > 0 && out.length === q.limit) break;
    if (c.exited.length > 0 && !c.exited.some((code) => code === x.exitCode && !x.running && x.started)) continue;
    if (!any('status', (v) => matchOne(v, x.state))) continue;
    if (!any('health', (v) => v === x.health)) continue;
    if (!any('volume', (v) => x.mounts.some((m) => m.destination === v || (m.name !== undefined && m.name !== '' ? m.name : m.source) === v))) continue;
    if (c.images !== undefined && !c.images.has(x.imageId)) continue;
    if (!any('network', (v) => x.networks.includes(v))) continue;
    if (f.has('publish') || f.has('expose')) continue;
    out.push(x);
  }
  return out;
}
