/**
 * `docker run`/`create` flags, from the strings the command line gives to one typed
 * `CreateOptions` (what a container record keeps), checked as Docker 20.10 checks them and in
 * Docker's order, with Docker's messages; plus cairn's refusals of what it cannot do yet
 * (`--restart` other than `no`, networks other than host and none). *pure*: env and label files
 * arrive as bytes read by the caller, the caller's environment and CPU count as data.
 *
 * Docker checks a value in three places (errors.ts): the flag parser while reading the command
 * line (sizes, numbers, durations, `-e`, `--label`, `-a`, `--ulimit`, `--mount`'s CSV), then
 * its CLI's own checks (files, restart policy format, health check, `--rm` with `--restart`,
 * `-a` with `-d`, `--platform`), then dockerd's (working directory, stop signal, `--mount`
 * configs, restart policy, capabilities, memory and CPU ranges, `--tmpfs` destinations, runtime,
 * name, security options, then each `-v` with duplicates and volume names). The first error
 * found in that order is the one reported; within the flag parser, flags are taken in the order
 * Docker defines them (Docker takes them in command-line order).
 *
 * Messages observed from docker 20.10.24 (each `invalid argument "V" for "F" flag: ` below is
 * pflag's prefix; see the tests for more):
 *   --memory lots       → invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'
 *   --cpus 2/3          → ... "--cpus" flag: value is too precise
 *   --pids-limit foo    → ... "--pids-limit" flag: strconv.ParseInt: parsing "foo": invalid syntax
 *   --health-interval 10 → ... time: missing unit in duration "10"
 *   --restart on-failure:x → maximum retry count must be an integer
 *   --restart foo       → invalid restart policy 'foo'
 *   --restart=always --rm → Conflicting options: --restart and --rm
 *   --name a            → Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed
 *   -w rel              → the working directory 'rel' is invalid, it needs to be an absolute path
 *   --stop-signal FOO   → Invalid signal: FOO
 *   --memory 1m         → Minimum memory limit allowed is 6MB
 *   --cpus 100          → Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available
 *   --cap-add foo       → invalid CapAdd: unknown capability: "CAP_FOO"
 *   --security-opt foo  → Invalid --security-opt: "foo"
 *   -a foo              → ... "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR
 *   run -d -a stdout    → Conflicting options: -a and -d (exit 1)
 *   --platform a/b/c/d  → error parsing specified platform: "a/b/c/d": cannot parse platform specifier: invalid argument
 */
import { InvalidArgumentError, UsageError } from '../errors.js';
import { parsePlatformSpecifier } from '../oci/platform.js';
import { dockerAnyReferenceError } from '../reference/reference.js';
import type { Platform } from '../oci/types.js';
import { CAPABILITIES } from '../runtime/host.js';
import { parseSecurityOpts, parseUlimit, type SecurityOpts, type TmpfsMount, type Ulimit } from '../runtime/spec.js';
import { goQuote } from '../template/fmt.js';
import { parseEnvFile, parseLabelFile, validateEnv, validateLabel, kvToMap, openFileErrorMessage, type EnvLookup } from './envfile.js';
import { CreateFlagError, CreateRefusedError, clientError, daemonError, parseFlagValue } from './errors.js';
import { RESTRICTED_NAME_CHARS, parseVolumesFrom, registerMounts, type DockerMount, type MountFlag, type VolumeFlag, type VolumesFrom } from './mounts.js';
import { parseMountCsv, validateMountFlag } from './mountopt.js';
import { parseTmpfsFlags } from './tmpfs.js';
import { isValidSignal, parseSignal } from './signals.js';
import { formatGoDuration, parseGoDuration, parseGoInt, parseNanoCpus, ramInBytes } from './units.js';

// --- input ---------------------------------------------------------------------------------------

/** The flags of `run`/`create` as the command line parser hands them over (strings, lists, booleans). */
export interface RawCreateFlags {
  /** Which command: `-d` exists for `run` only. Default `create`. */
  command?: 'run' | 'create';
  /** The image as given. */
  image?: string;
  /** Arguments after the image (the command). */
  args?: string[];
  detach?: boolean;
  attach?: string[];
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  envFile?: string[];
  label?: string[];
  labelFile?: string[];
  volume?: string[];
  volumesFrom?: string[];
  mount?: string[];
  tmpfs?: string[];
  name?: string;
  hostname?: string;
  user?: string;
  workdir?: string;
  /** `--entrypoint`: a string; `""` clears the image's. */
  entrypoint?: string;
  memory?: string;
  memorySwap?: string;
  shmSize?: string;
  cpus?: string;
  pidsLimit?: string;
  ulimit?: string[];
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  privileged?: boolean;
  readOnly?: boolean;
  /** Only when given (Docker keeps "not given" apart from false). */
  init?: boolean;
  rm?: boolean;
  restart?: string;
  /** `--network`, each time it was given (a string: once). */
  network?: string | readonly string[];
  platform?: string;
  runtime?: string;
  stopSignal?: string;
  stopTimeout?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthRetries?: string;
  noHealthcheck?: boolean;
  detachKeys?: string;
}

/** A file the caller read for `--env-file`/`--label-file`: its bytes, or the errno of the failure. */
export type FileContent = Uint8Array | string | { errno: string };

/** What parsing needs from outside. */
export interface CreateEnv {
  /** The caller's environment (`-e KEY`, env-file `KEY` lines). */
  getenv: EnvLookup;
  /** The files named by `--env-file` and `--label-file` (see {@link filesToRead}), by name as given. */
  files?: ReadonlyMap<string, FileContent>;
  /** CPUs of the machine (`--cpus`' range). */
  cpuCount: number;
  /** OCI runtimes cairn has (`--runtime`). Default crun and runc. */
  runtimes?: readonly string[];
}

/** The env and label files the caller must read before {@link parseCreateFlags}. */
export function filesToRead(raw: RawCreateFlags): string[] {
  return [...new Set([...(raw.envFile ?? []), ...(raw.labelFile ?? [])])];
}

// --- output --------------------------------------------------------------------------------------

/** Docker's container.HealthConfig; durations in nanoseconds; zero fields left out. */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** Docker's container.RestartPolicy. */
export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

export type NetworkMode = 'host' | 'none';

/** A container's creation options: `run`/`create`'s flags, checked and typed. Plain JSON data. */
export interface CreateOptions {
  /** The image as given (Docker's Config.Image). */
  image: string;
  /** `--platform`, normalised. */
  platform?: Platform;
  /** `--name` without a leading `/`; undefined: the caller makes one. */
  name?: string;
  // --- Docker's Config ---
  hostname?: string;
  /** `-u` as given (`name`, `uid`, `name:group`, `uid:gid`); see {@link parseUserSpec}. */
  user?: string;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  tty: boolean;
  /** `-i`. */
  openStdin: boolean;
  stdinOnce: boolean;
  /** Env files' entries then `-e`s: `KEY=VALUE`, or `KEY` (the container lacks KEY). */
  env: string[];
  /** The command after the image; undefined: the image's Cmd. */
  cmd?: string[];
  /** undefined: the image's Entrypoint; `[""]`: cleared (`--entrypoint ""`); else `[ENTRYPOINT]`. */
  entrypoint?: string[];
  workdir?: string;
  labels: Record<string, string>;
  /** `--stop-signal` as given (Docker keeps the text). */
  stopSignal?: string;
  stopTimeout?: number;
  /** `--health-*` (`{Test: ["NONE"]}` for `--no-healthcheck`). */
  healthcheck?: HealthConfig;
  // --- Docker's HostConfig ---
  /** `-v` values in order (binds, named and anonymous volumes). */
  volumes: VolumeFlag[];
  /** `--volumes-from` values in order (the caller finds each container). */
  volumesFrom: VolumesFrom[];
  /** `--mount` values in order. */
  mounts: MountFlag[];
  /** `--tmpfs`, one per destination (the last given wins). */
  tmpfs: TmpfsMount[];
  network: NetworkMode;
  restartPolicy: RestartPolicy;
  /** `--rm`. */
  autoRemove: boolean;
  /** As given (Docker keeps `net_admin`, `ALL`...); each a known capability. */
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  readOnly: boolean;
  init?: boolean;
  /** As given, for HostConfig.SecurityOpt. */
  securityOpt: string[];
  /** `--security-opt`, read. */
  security: SecurityOpts;
  /** Bytes; 0: none. */
  memory: number;
  /** Bytes of memory plus swap; -1 unlimited; 0: not given. */
  memorySwap: number;
  /** Bytes of /dev/shm; 0: not given (Docker's default 64 MiB). */
  shmSize: number;
  /** `--cpus` × 10⁹; 0: none. */
  nanoCpus: number;
  /** `--pids-limit` when positive. */
  pidsLimit?: number;
  /** One per name (the last given wins), sorted by name as Docker sends them. */
  ulimits: Ulimit[];
  /** `--runtime`, when given. */
  runtime?: string;
  // --- run ---
  detach: boolean;
  detachKeys?: string;
}

// --- flag names as pflag prints them ---------------------------------------------------------------

const F = {
  attach: '-a, --attach',
  env: '-e, --env',
  label: '-l, --label',
  stopTimeout: '--stop-timeout',
  ulimit: '--ulimit',
  mount: '--mount',
  healthInterval: '--health-interval',
  healthRetries: '--health-retries',
  healthTimeout: '--health-timeout',
  healthStartPeriod: '--health-start-period',
  cpus: '--cpus',
  memory: '-m, --memory',
  memorySwap: '--memory-swap',
  pidsLimit: '--pids-limit',
  shmSize: '--shm-size',
} as const;

// --- single flags ------------------------------------------------------------------------------------

/** `-a` (validateAttach): stdin, stdout or stderr, any case; lower-cased. */
export function parseAttach(value: string): 'stdin' | 'stdout' | 'stderr' {
  const s = value.toLowerCase();
  if (s === 'stdin' || s === 'stdout' || s === 'stderr') return s;
  throw new InvalidArgumentError('valid streams are STDIN, STDOUT and STDERR');
}

/** `--memory-swap` (MemSwapBytes): `-1` or a size. */
export function parseMemorySwap(value: string): number {
  return value === '-1' ? -1 : ramInBytes(value);
}

/** `--name` (daemon reserveName): `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, one leading `/` allowed; returned without it. */
export function parseContainerName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(bare)) {
    throw daemonError(`Invalid container name (${name}), only ${RESTRICTED_NAME_CHARS} are allowed`);
  }
  return bare;
}

/** `-w` (daemon translateWorkingDir): absolute. */
export function checkWorkdir(dir: string): void {
  if (!dir.startsWith('/')) throw daemonError(`the working directory '${dir}' is invalid, it needs to be an absolute path`);
}

/** `-u` split as runc reads it: `user[:group]`. Docker does not check it at create. */
export function parseUserSpec(spec: string): { user: string; group?: string } {
  const colon = spec.indexOf(':');
  return colon < 0 ? { user: spec } : { user: spec.slice(0, colon), group: spec.slice(colon + 1) };
}

/**
 * `--restart` as Docker reads it: the CLI splits `name[:count]` (`invalid restart policy
 * format`, `maximum retry count must be an integer`), dockerd checks the name and the count
 * (`invalid restart policy 'foo'`, `maximum retry count cannot be used with restart policy
 * 'always'`, `maximum retry count cannot be negative`). `` is no policy.
 */
export function parseRestartPolicy(policy: string): RestartPolicy {
  const p = splitRestartPolicy(policy);
  validateRestartPolicy(p);
  return p;
}

/** The CLI's half of `--restart` (opts.ParseRestartPolicy). */
function splitRestartPolicy(policy: string): RestartPolicy {
  const p: RestartPolicy = { Name: '', MaximumRetryCount: 0 };
  if (policy === '') return p;
  const parts = policy.split(':');
  if (parts.length > 2) throw clientError('invalid restart policy format');
  if (parts.length === 2) {
    if (!/^[+-]?[0-9]+$/.test(parts[1]!)) throw clientError('maximum retry count must be an integer');
    p.MaximumRetryCount = Number(parts[1]);
  }
  p.Name = parts[0]!;
  return p;
}

function validateRestartPolicy(p: RestartPolicy): void {
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if (p.MaximumRetryCount !== 0) throw daemonError(`maximum retry count cannot be used with restart policy '${p.Name}'`);
      return;
    case 'on-failure':
      if (p.MaximumRetryCount < 0) throw daemonError('maximum retry count cannot be negative');
      return;
    case '':
      return;
    default:
      throw daemonError(`invalid restart policy '${p.Name}'`);
  }
}

/** Whether a policy restarts nothing (Docker's IsNone). */
export function isNoRestart(p: RestartPolicy): boolean {
  return p.Name === 'no' || p.Name === '';
}

/**
 * cairn's refusal of a restart policy: there is no daemon to restart a container when it
 * exits; a service manager can. One line, exit 125.
 */
export function restartRefusal(p: RestartPolicy): CreateRefusedError {
  const restart = p.Name === 'on-failure' ? `Restart=on-failure${p.MaximumRetryCount > 0 ? ` and StartLimitBurst=${p.MaximumRetryCount}` : ''}` : 'Restart=always';
  const given = p.MaximumRetryCount > 0 ? `${p.Name}:${p.MaximumRetryCount}` : p.Name;
  return new CreateRefusedError(
    `--restart ${given} is not supported: cairn has no daemon to restart containers; run the container from a service manager instead (e.g. a systemd unit with ${restart} and ExecStart=cairn start -a NAME, as podman generate systemd makes)`,
  );
}

/**
 * `--network`: host (cairn's default; also `default`) or none. Docker's bridge, a
 * `container:NAME` or a user-defined network are not there yet (exit 125). An empty value is
 * Docker's `no name set for network`.
 */
export function parseNetwork(value: string | undefined): NetworkMode {
  if (value === undefined || value === 'host' || value === 'default') return 'host';
  if (value === 'none') return 'none';
  if (value.trim() === '') throw clientError('no name set for network');
  const alternatives = 'use --network host (the default) or --network none';
  if (value === 'bridge') throw new CreateRefusedError(`--network bridge is not supported yet: cairn has no container networks; ${alternatives}`);
  if (value.startsWith('container:')) throw new CreateRefusedError(`--network ${value} is not supported yet: cairn cannot join another container's network namespace; ${alternatives}`);
  throw new CreateRefusedError(`--network ${value} is not supported yet: cairn has no user-defined networks; ${alternatives}`);
}

/** `--platform` as Docker's CLI reads it (containerd's platforms.Parse), normalised; its errors as the CLI wraps them. */
export function parsePlatformFlag(value: string): Platform {
  try {
    return parsePlatformSpecifier(value);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw clientError(`error parsing specified platform: ${e.message}`);
    throw e;
  }
}

/** Docker's capability check (NormalizeLegacyCapabilities): `invalid CapAdd: unknown capability: "CAP_FOO"`. */
export function checkCapabilities(field: 'CapAdd' | 'CapDrop', caps: readonly string[]): void {
  for (const c of caps) {
    const up = c.toUpperCase();
    if (up === 'ALL') continue;
    const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
    if (!CAPABILITIES.includes(cap)) throw daemonError(`invalid ${field}: unknown capability: ${goQuote(cap)}`);
  }
}

/**
 * `--security-opt` as Docker's CLI then dockerd read it (`Invalid --security-opt: "foo"`,
 * `invalid --security-opt 2: "no-new-privileges=maybe"`: runtime/spec.ts parseSecurityOpts),
 * then what cairn does with it: `seccomp=unconfined` (a profile file is refused),
 * `no-new-privileges[=bool]`, `label=...` and `apparmor=...` accepted and ignored;
 * `systempaths=unconfined`, which Docker's CLI takes itself, refused for now.
 */
export function parseSecurityOptions(values: readonly string[]): SecurityOpts {
  for (const opt of values) {
    if (!opt.includes('=') && opt !== 'no-new-privileges' && !opt.includes(':')) throw clientError(`Invalid --security-opt: ${goQuote(opt)}`);
  }
  if (values.includes('systempaths=unconfined')) throw new CreateRefusedError('--security-opt systempaths=unconfined is not supported yet: cairn always masks /proc and /sys paths as Docker does by default');
  try {
    return parseSecurityOpts(values);
  } catch (e) {
    if (e instanceof UsageError) throw new CreateRefusedError(e.message);
    if (e instanceof InvalidArgumentError) throw daemonError(e.message);
    throw e;
  }
}

/** `--runtime`: one cairn has (dockerd: `Unknown runtime specified X`). */
export function checkRuntime(name: string, runtimes: readonly string[] = ['crun', 'runc']): void {
  if (!runtimes.includes(name)) throw daemonError(`Unknown runtime specified ${name}`);
}

/** The characters of moby/term's `ctrl-X` keys, by key code. */
const CTRL_KEYS = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/** moby/term's detach keys (`ctrl-p,ctrl-q`, `a`, `DEL`): the key codes; dockerd's message otherwise. */
export function parseDetachKeys(keys: string): number[] {
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if ([...key].length === 1 && Buffer.byteLength(key) === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const ctrl = /^ctrl-(.)$/s.exec(key);
    const code = ctrl === null ? -1 : CTRL_KEYS.indexOf(ctrl[1]!);
    if (code >= 0) {
      codes.push(code);
      continue;
    }
    if (key === 'DEL') {
      codes.push(127);
      continue;
    }
    throw daemonError(`Invalid detach keys (${keys}) provided`);
  }
  return codes;
}

/** Docker's minimum health check duration (container.MinimumDuration): 1ms. */
const MIN_HEALTH_DURATION = 1_000_000;

/**
 * The `--health-*` flags as the CLI combines them (`--no-healthcheck conflicts with --health-*
 * options`, `--health-interval cannot be negative`...), then dockerd's minimums (`Interval in
 * Healthcheck cannot be less than 1ms`). Durations in nanoseconds.
 */
export function healthConfig(h: { cmd?: string; interval: number; timeout: number; startPeriod: number; retries: number; none: boolean }): HealthConfig | undefined {
  const have = (h.cmd ?? '') !== '' || h.interval !== 0 || h.timeout !== 0 || h.startPeriod !== 0 || h.retries !== 0;
  if (h.none) {
    if (have) throw clientError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!have) return undefined;
  if (h.interval < 0) throw clientError('--health-interval cannot be negative');
  if (h.timeout < 0) throw clientError('--health-timeout cannot be negative');
  if (h.retries < 0) throw clientError('--health-retries cannot be negative');
  if (h.startPeriod < 0) throw clientError('--health-start-period cannot be negative');
  const out: HealthConfig = {};
  if ((h.cmd ?? '') !== '') out.Test = ['CMD-SHELL', h.cmd!];
  if (h.interval !== 0) out.Interval = h.interval;
  if (h.timeout !== 0) out.Timeout = h.timeout;
  if (h.startPeriod !== 0) out.StartPeriod = h.startPeriod;
  if (h.retries !== 0) out.Retries = h.retries;
  return out;
}

/** dockerd's validateHealthCheck. */
function validateHealthcheck(h: HealthConfig | undefined): void {
  if (h === undefined) return;
  const min = formatGoDuration(MIN_HEALTH_DURATION);
  if (h.Interval !== undefined && h.Interval < MIN_HEALTH_DURATION) throw daemonError(`Interval in Healthcheck cannot be less than ${min}`);
  if (h.Timeout !== undefined && h.Timeout < MIN_HEALTH_DURATION) throw daemonError(`Timeout in Healthcheck cannot be less than ${min}`);
  if (h.Retries !== undefined && h.Retries < 0) throw daemonError('Retries in Healthcheck cannot be negative');
  if (h.StartPeriod !== undefined && h.StartPeriod < MIN_HEALTH_DURATION) throw daemonError(`StartPeriod in Healthcheck cannot be less than ${min}`);
}

/** dockerd's memory checks (verifyPlatformContainerResources). */
function validateMemory(memory: number, swap: number): void {
  if (memory !== 0 && memory < 6 * 1024 * 1024) throw daemonError('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap > 0 && swap < memory) throw daemonError('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory === 0 && swap > 0) throw daemonError('You should always set the Memory limit when using Memoryswap limit, see usage');
}

/** dockerd's CPU range (verifyPlatformContainerResources). */
function validateNanoCpus(nano: number, cpuCount: number): void {
  if (nano < 0 || nano > cpuCount * 1e9) throw daemonError(`Range of CPUs is from 0.01 to ${cpuCount}.00, as there are only ${cpuCount} CPUs available`);
}

/** `--hostname`: Docker 20.10 takes anything and the kernel refuses more than 64 bytes at start; cairn says so at create. */
function checkHostname(h: string): void {
  if (Buffer.byteLength(h) > 64) throw clientError(`invalid hostname ${goQuote(h)}: longer than 64 bytes, the most a hostname may have`);
}

// --- all of them --------------------------------------------------------------------------------------

function readFile(env: CreateEnv, name: string): Uint8Array | string {
  const f = env.files?.get(name);
  if (f === undefined) throw new InvalidArgumentError(`the file ${name} was not read (filesToRead lists the files to hand over)`);
  if (typeof f === 'object' && 'errno' in f) throw clientError(openFileErrorMessage(name, f.errno));
  return f;
}

/** A file parser's InvalidArgumentError as the CLI's error. */
function asClient<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError && !(e instanceof CreateFlagError)) throw clientError(e.message);
    throw e;
  }
}

/**
 * `run`/`create`'s flags as one CreateOptions, checked in Docker's order; the first problem is
 * thrown (a CreateFlagError with Docker's message, or a CreateRefusedError for what cairn
 * cannot do). Not checked here, because they need the disk or the store: the image, a name
 * already in use, a `--mount` bind source that does not exist ({@link bindSourceMissingMessage}),
 * `-u` against the image's passwd, the command (Docker's `No command specified` needs the image).
 */
export function parseCreateFlags(raw: RawCreateFlags, env: CreateEnv): CreateOptions {
  const command = raw.command ?? 'create';
  const detach = command === 'run' && raw.detach === true;

  // 1. The flag parser (pflag), flag by flag.
  const attach = (raw.attach ?? []).map((v) => parseFlagValue(F.attach, v, parseAttach));
  const envFlags = (raw.env ?? []).map((v) => parseFlagValue(F.env, v, (x) => validateEnv(x, env.getenv)));
  const labelFlags = (raw.label ?? []).map((v) => parseFlagValue(F.label, v, validateLabel));
  const stopTimeout = raw.stopTimeout === undefined ? undefined : parseFlagValue(F.stopTimeout, raw.stopTimeout, (v) => parseGoInt(v));
  const ulimitMap = new Map<string, Ulimit>();
  for (const v of raw.ulimit ?? []) {
    const u = parseFlagValue(F.ulimit, v, parseUlimit);
    ulimitMap.set(u.name, u);
  }
  const dockerMounts: DockerMount[] = (raw.mount ?? []).map((v) => parseFlagValue(F.mount, v, parseMountCsv));
  const healthInterval = raw.healthInterval === undefined ? 0 : parseFlagValue(F.healthInterval, raw.healthInterval, parseGoDuration);
  const healthRetries = raw.healthRetries === undefined ? 0 : parseFlagValue(F.healthRetries, raw.healthRetries, (v) => parseGoInt(v));
  const healthTimeout = raw.healthTimeout === undefined ? 0 : parseFlagValue(F.healthTimeout, raw.healthTimeout, parseGoDuration);
  const healthStartPeriod = raw.healthStartPeriod === undefined ? 0 : parseFlagValue(F.healthStartPeriod, raw.healthStartPeriod, parseGoDuration);
  const nanoCpus = raw.cpus === undefined ? 0 : parseFlagValue(F.cpus, raw.cpus, parseNanoCpus);
  const memory = raw.memory === undefined ? 0 : parseFlagValue(F.memory, raw.memory, ramInBytes);
  const memorySwap = raw.memorySwap === undefined ? 0 : parseFlagValue(F.memorySwap, raw.memorySwap, parseMemorySwap);
  const pidsLimit = raw.pidsLimit === undefined ? 0 : parseFlagValue(F.pidsLimit, raw.pidsLimit, (v) => parseGoInt(v));
  const shmSize = raw.shmSize === undefined ? 0 : parseFlagValue(F.shmSize, raw.shmSize, ramInBytes);

  // 2. The CLI's checks (cli/command/container/opts.go parse, then run/create).
  const attachStdin = attach.includes('stdin') || raw.interactive === true;
  const attachStdout = attach.length === 0 || attach.includes('stdout');
  const attachStderr = attach.length === 0 || attach.includes('stderr');
  let entrypoint: string[] | undefined;
  if (raw.entrypoint !== undefined) entrypoint = [raw.entrypoint];
  const envList: string[] = [];
  for (const f of raw.envFile ?? []) envList.push(...asClient(() => parseEnvFile(f, readFile(env, f), env.getenv)));
  envList.push(...envFlags);
  const labelList: string[] = [];
  for (const f of raw.labelFile ?? []) labelList.push(...asClient(() => parseLabelFile(f, readFile(env, f))));
  labelList.push(...labelFlags);
  const restartPolicy = splitRestartPolicy(raw.restart ?? 'no');
  const securityOpt = [...(raw.securityOpt ?? [])];
  for (const opt of securityOpt) {
    if (!opt.includes('=') && opt !== 'no-new-privileges' && !opt.includes(':')) throw clientError(`Invalid --security-opt: ${goQuote(opt)}`);
  }
  const healthcheck = healthConfig({
    ...(raw.healthCmd !== undefined ? { cmd: raw.healthCmd } : {}),
    interval: healthInterval,
    timeout: healthTimeout,
    startPeriod: healthStartPeriod,
    retries: healthRetries,
    none: raw.noHealthcheck === true,
  });
  const autoRemove = raw.rm === true;
  if (autoRemove && !isNoRestart(restartPolicy)) throw clientError('Conflicting options: --restart and --rm');
  const networks = raw.network === undefined ? [] : typeof raw.network === 'string' ? [raw.network] : [...raw.network];
  for (const [i, n] of networks.entries()) {
    if (n.trim() === '') throw clientError('no name set for network');
    if (networks.indexOf(n) !== i) throw clientError(`network ${goQuote(n)} is specified multiple times`);
  }
  if (detach && attach.length > 0) throw clientError('Conflicting options: -a and -d', 1);
  const platform = raw.platform === undefined || raw.platform === '' ? undefined : parsePlatformFlag(raw.platform);
  if (raw.hostname !== undefined) checkHostname(raw.hostname);
  // createContainer: the image as the CLI reads it (ParseAnyReference); `create` returns the error as it is
  const imageProblem = raw.image === undefined ? undefined : dockerAnyReferenceError(raw.image);
  if (imageProblem !== undefined) throw clientError(imageProblem, command === 'run' ? 125 : 1);

  // 3. dockerd: the request's settings, then the container's creation.
  if (raw.workdir !== undefined && raw.workdir !== '') checkWorkdir(raw.workdir);
  if (raw.stopSignal !== undefined && raw.stopSignal !== '') {
    let n: number;
    try {
      n = parseSignal(raw.stopSignal);
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw daemonError(e.message);
      throw e;
    }
    // Docker takes any number; cairn could not send one no signal has.
    if (!isValidSignal(n)) throw daemonError(`Invalid signal: ${raw.stopSignal}`);
  }
  validateHealthcheck(healthcheck);
  const mounts: MountFlag[] = dockerMounts.map(validateMountFlag);
  validateRestartPolicy(restartPolicy);
  checkCapabilities('CapAdd', raw.capAdd ?? []);
  checkCapabilities('CapDrop', raw.capDrop ?? []);
  validateMemory(memory, memorySwap);
  validateNanoCpus(nanoCpus, env.cpuCount);
  const tmpfs = parseTmpfsFlags(raw.tmpfs ?? []);
  if (raw.runtime !== undefined && raw.runtime !== '') checkRuntime(raw.runtime, env.runtimes);
  const name = raw.name === undefined || raw.name === '' ? undefined : parseContainerName(raw.name);
  const security = parseSecurityOptions(securityOpt);
  const volumesFrom = (raw.volumesFrom ?? []).map(parseVolumesFrom);
  const volumes = registerMounts(raw.volume ?? [], mounts, tmpfs.mounts);
  if (raw.detachKeys !== undefined && raw.detachKeys !== '') parseDetachKeys(raw.detachKeys);

  // 4. What cairn cannot do (yet).
  if (!isNoRestart(restartPolicy)) throw restartRefusal(restartPolicy);
  // dockerd connects a container to one network only when it is host or none (cairn's only ones)
  if (networks.length > 1) throw daemonError(`Container cannot be connected to network endpoints: ${networks.join(', ')}`);
  const network = parseNetwork(networks[0]);

  const ulimits = [...ulimitMap.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const openStdin = raw.interactive === true;
  const out: CreateOptions = {
    image: raw.image ?? '',
    attachStdin: detach ? false : attachStdin,
    attachStdout: detach ? false : attachStdout,
    attachStderr: detach ? false : attachStderr,
    tty: raw.tty === true,
    openStdin,
    stdinOnce: !detach && openStdin && attachStdin,
    env: envList,
    labels: kvToMap(labelList),
    volumes,
    volumesFrom,
    mounts,
    tmpfs: tmpfs.mounts,
    network,
    restartPolicy,
    autoRemove,
    capAdd: [...(raw.capAdd ?? [])],
    capDrop: [...(raw.capDrop ?? [])],
    privileged: raw.privileged === true,
    readOnly: raw.readOnly === true,
    securityOpt,
    security,
    memory,
    memorySwap,
    shmSize,
    nanoCpus,
    ulimits,
    detach,
  };
  if (platform !== undefined) out.platform = platform;
  if (name !== undefined) out.name = name;
  if (raw.hostname !== undefined && raw.hostname !== '') out.hostname = raw.hostname;
  if (raw.user !== undefined && raw.user !== '') out.user = raw.user;
  if (raw.args !== undefined && raw.args.length > 0) out.cmd = [...raw.args];
  if (entrypoint !== undefined) out.entrypoint = entrypoint;
  if (raw.workdir !== undefined && raw.workdir !== '') out.workdir = raw.workdir;
  if (raw.stopSignal !== undefined && raw.stopSignal !== '') out.stopSignal = raw.stopSignal;
  if (stopTimeout !== undefined) out.stopTimeout = stopTimeout;
  if (healthcheck !== undefined) out.healthcheck = healthcheck;
  if (raw.init !== undefined) out.init = raw.init;
  if (pidsLimit > 0) out.pidsLimit = pidsLimit;
  if (raw.runtime !== undefined && raw.runtime !== '') out.runtime = raw.runtime;
  if (raw.detachKeys !== undefined && raw.detachKeys !== '') out.detachKeys = raw.detachKeys;
  return out;
}
