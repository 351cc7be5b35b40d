/**
 * `create`'s and `run`'s flags, as commander hands them over, turned into the container's
 * settings (container/model.ts).
 */
import { readFileSync } from 'node:fs';
import { CairnError, InvalidArgumentError } from '../errors.js';
import type { ContainerSettings } from '../container/model.js';
import { parseUlimit } from '../runtime/spec.js';
import type { RuntimeName } from '../runtime/oci-runtime.js';

export interface CreateFlags {
  attach: string[];
  capAdd: string[];
  capDrop: string[];
  cpus?: string;
  entrypoint?: string;
  env: string[];
  envFile: string[];
  hostname?: string;
  init?: boolean;
  interactive?: boolean;
  label: string[];
  labelFile: string[];
  memory?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthRetries?: string;
  memorySwap?: string;
  mount: string[];
  name?: string;
  network?: string;
  healthcheck?: boolean;
  pidsLimit?: string;
  platform?: string;
  privileged?: boolean;
  pull: string;
  quiet?: boolean;
  readOnly?: boolean;
  restart?: string;
  rm?: boolean;
  runtime?: string;
  securityOpt: string[];
  stopSignal?: string;
  stopTimeout?: string;
  tmpfs: string[];
  tty?: boolean;
  ulimit: string[];
  user?: string;
  volume: string[];
  volumesFrom: string[];
  workdir?: string;
}

function envFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.includes('=')) out.push(line);
    else if (process.env[line] !== undefined) out.push(`${line}=${process.env[line]}`);
  }
  return out;
}

/** The variables of `--env-file` files, in order. */
export function envFromFiles(files: readonly string[]): string[] {
  return files.flatMap(envFile);
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds, with the flag's error as Docker's CLI words it. */
export function parseGoDuration(text: string, flag: string): number {
  const bad = () => new CairnError('usage', `invalid argument "${text}" for "${flag}" flag: time: invalid duration "${text}"`);
  if (text === '0') return 0;
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (m === null) throw bad();
  let total = 0;
  for (const part of text.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  return m[1] === '-' ? -total : Math.round(total);
}

/** The --health-* flags as Docker's Healthcheck (durations in nanoseconds; zero fields inherit the image's). */
function healthFrom(o: CreateFlags): ContainerSettings['healthcheck'] {
  if (o.healthcheck === false) {
    if (o.healthCmd !== undefined || o.healthInterval !== undefined || o.healthTimeout !== undefined || o.healthStartPeriod !== undefined || o.healthRetries !== undefined) {
      throw new CairnError('usage', '--no-healthcheck conflicts with --health-* options');
    }
    return { Test: ['NONE'] };
  }
  const h: NonNullable<ContainerSettings['healthcheck']> = {};
  if (o.healthCmd !== undefined) h.Test = ['CMD-SHELL', o.healthCmd];
  const dur = (v: string | undefined, flag: string, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const ns = parseGoDuration(v, flag);
    if (ns < 0) throw new CairnError('usage', `${name} cannot be negative`);
    return ns;
  };
  const interval = dur(o.healthInterval, '--health-interval', '--health-interval');
  const timeout = dur(o.healthTimeout, '--health-timeout', '--health-timeout');
  const start = dur(o.healthStartPeriod, '--health-start-period', '--health-start-period');
  if (interval !== undefined) h.Interval = interval;
  if (timeout !== undefined) h.Timeout = timeout;
  if (start !== undefined) h.StartPeriod = start;
  if (o.healthRetries !== undefined) {
    if (!/^-?\d+$/.test(o.healthRetries)) throw new CairnError('usage', `invalid argument "${o.healthRetries}" for "--health-retries" flag: strconv.ParseInt: parsing "${o.healthRetries}": invalid syntax`);
    if (Number(o.healthRetries) < 0) throw new CairnError('usage', '--health-retries cannot be negative');
    h.Retries = Number(o.healthRetries);
  }
  return Object.keys(h).length > 0 ? h : undefined;
}

/** RAMInBytes: 512m, 1g, 1.5g, bare bytes. */
function ramInBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (m === null) throw new InvalidArgumentError(`invalid size: '${text}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't' | 'p'];
  return Math.floor(Number(m[1]) * mult);
}

/** The settings of a container from the image named, the command after it and the flags. */
export function settingsFromFlags(image: string, args: string[], o: CreateFlags): ContainerSettings {
  if (o.restart !== undefined && o.restart !== 'no') {
    throw new CairnError('usage', `--restart ${o.restart}: cairn has no daemon to restart containers; run the container under a service manager (a systemd unit running \`cairn run\`) instead`);
  }
  const health = healthFrom(o);
  const network = o.network ?? 'host';
  if (network !== 'host' && network !== 'none') throw new CairnError('usage', `--network ${network}: cairn supports host (the default) and none for now`);
  const runtime = (o.runtime ?? 'crun') as RuntimeName;
  if (runtime !== 'crun' && runtime !== 'runc') throw new CairnError('usage', `unknown runtime specified ${runtime}: cairn knows crun and runc`);
  const labels: Record<string, string> = {};
  for (const l of o.label) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  const binds: ContainerSettings['binds'] = [];
  for (const v of o.volume) {
    const parts = v.split(':');
    if (parts.length < 2 || !parts[0]!.startsWith('/')) throw new InvalidArgumentError(`invalid volume specification: '${v}'`);
    binds.push({ source: parts[0]!, destination: parts[1]!, readOnly: (parts[2] ?? '').split(',').includes('ro') });
  }
  const tmpfs = o.tmpfs.map((t) => {
    const colon = t.indexOf(':');
    return colon < 0 ? { destination: t } : { destination: t.slice(0, colon), options: t.slice(colon + 1).split(',') };
  });
  return {
    image,
    args,
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] } : {}),
    env: [...o.envFile.flatMap(envFile), ...o.env.map((e) => (e.includes('=') || process.env[e] === undefined ? e : `${e}=${process.env[e]}`))],
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    tty: o.tty ?? false,
    interactive: o.interactive ?? false,
    readOnly: o.readOnly ?? false,
    network,
    ...(o.memory !== undefined ? { memory: ramInBytes(o.memory) } : {}),
    ...(o.memorySwap !== undefined ? { memorySwap: o.memorySwap === '-1' ? -1 : ramInBytes(o.memorySwap) } : {}),
    ...(o.cpus !== undefined ? { cpus: Number(o.cpus) } : {}),
    ...(o.pidsLimit !== undefined ? { pidsLimit: Number(o.pidsLimit) } : {}),
    ulimits: o.ulimit.map(parseUlimit),
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    privileged: o.privileged ?? false,
    securityOpt: o.securityOpt,
    binds,
    tmpfs,
    volumes: [],
    labels,
    ...(o.stopSignal !== undefined ? { stopSignal: o.stopSignal } : {}),
    ...(o.stopTimeout !== undefined ? { stopTimeout: Number(o.stopTimeout) } : {}),
    init: o.init ?? false,
    autoRemove: o.rm ?? false,
    runtime,
    ...(o.platform !== undefined ? { platform: o.platform } : {}),
    ...(health !== undefined ? { healthcheck: health } : {}),
  };
}
