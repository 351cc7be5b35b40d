/**
 * OCI runtimes: the `OciRuntime` interface over the runtime's command line, with two
 * implementations, crun (the default) and runc, picked by name ({@link ociRuntime}).
 *
 * Each call runs the binary with `--root` inside cairn's state directory (so cairn's
 * containers never mix with podman's or docker's) and `--log` pointing at a file of its own
 * in JSON, read back when the call fails: the runtime's last error line becomes a one-line
 * {@link RuntimeFailure} whose exit code follows Docker's CLI — when a process was to start,
 * 127 when its command was not found, 126 when it cannot be invoked (permission denied, not
 * executable, a directory); 125 for any other failure of the runtime itself. Otherwise a
 * process's exit code is its own (128+N when killed by signal N).
 *
 * The runtime's own error line also reaches the container's stderr (both runtimes print
 * it there as well as to the log); a later conmon-based path separates the two.
 *
 * The machine's cgroup workaround crun needs is applied by scripts/setup.sh, not here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { removeFile } from '../rmtree.js';
import { join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { constants as osConstants } from 'node:os';
import { CairnError, InvalidArgumentError, NotFoundError, errnoCode } from '../errors.js';
import type { OciProcess, OciSpec } from './spec.js';
import { BPF_ANNOTATION, binaryIdentity, cachedFilter, compileSpec, dropScratch, seccompKey, storeFilter } from './seccomp-cache.js';
import { specJson } from './bundle.js';
import { randomBytes } from '../random.js';
import { delimiter } from 'node:path';
import { isNativeAvailable, spawnProcess, waitProcess, type SpawnedProcess } from '../native/index.js';
import { primeCgroupAttach } from './cgroup-prime.js';
import { sealedBinary } from './sealed-binary.js';
import { readTextIfPresent } from '../text-file.js';

export type RuntimeName = 'crun' | 'runc';
export const RUNTIME_NAMES: readonly RuntimeName[] = ['crun', 'runc'];

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What `state` reports (the runtime-spec's state, the fields cairn uses). */
export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** The container's init process on the host (0 once stopped). */
  pid: number;
  bundle: string;
}

/** How a container's standard stream is given: the caller's own, a pipe, or /dev/null. */
export type StdioMode = 'inherit' | 'pipe' | 'ignore';

/** Its stdin, stdout and stderr: all alike, or each as said. */
export type Stdio = StdioMode | readonly [stdin: StdioMode, stdout: StdioMode, stderr: StdioMode];

/** The container's standard streams when piped (null otherwise). */
export interface ContainerStdio {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

/** A process the runtime runs in the foreground (`run`, `exec`). */
export interface RuntimeProcess extends ContainerStdio {
  /**
   * Its exit code once it is gone and its streams are closed; rejects with a
   * {@link RuntimeFailure} when the runtime itself failed (the command never ran).
   */
  wait(): Promise<number>;
  /** Send a signal to the runtime process, which forwards it to the container's process. */
  signal(signal: NodeJS.Signals): void;
}

export interface OciRuntime {
  readonly name: RuntimeName;
  /** The runtime's binary as given (a name looked up on PATH, or a path). */
  readonly binary: string;
  /** Its `--root`: the state of cairn's containers (a monitor such as conmon runs it with the same). */
  readonly root: string;
  /**
   * The path to execute it from: its binary found on PATH, or (crun, as root) that binary's
   * read-only bind mount, from which crun need not copy itself first (sealed-binary.ts); the
   * binary as given when it is not found (running it then fails as it would).
   */
  executable(): string;
  /** Create container `id` from the bundle at `bundle` (its process set up, not started). */
  create(id: string, bundle: string, opts?: { stdio?: StdioMode; pidFile?: string }): Promise<ContainerStdio>;
  /** Start the process of a created container. */
  start(id: string): Promise<void>;
  /** Signal the container's process (with `all`, every process in it). */
  kill(id: string, signal?: NodeJS.Signals, opts?: { all?: boolean }): Promise<void>;
  /** Freeze every process of the container (cgroup freezer). */
  pause(id: string): Promise<void>;
  /** Thaw a paused container. */
  resume(id: string): Promise<void>;
  /** The host pids of the container's processes. */
  processes(id: string): Promise<number[]>;
  /** Remove the container (`force`: kill it first if it runs). */
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  /** The container's state; NotFoundError when the runtime does not know it. */
  state(id: string): Promise<ContainerState>;
  /** Whether the runtime knows container `id`. */
  exists(id: string): boolean;
  /** Create, start, wait for and delete a container: the foreground `run`. */
  run(id: string, bundle: string, opts?: { stdio?: Stdio; pidFile?: string }): RuntimeProcess;
  /** Run one more process in a running container (`detach`: the runtime returns once it started). */
  exec(id: string, process: OciProcess, opts?: { stdio?: Stdio; detach?: boolean }): RuntimeProcess;
  /**
   * The spec as this runtime starts it fastest, meaning the same: crun gets its seccomp filter
   * compiled beforehand (seccomp-cache.ts); runc gets the spec as it is. Only `linux.seccomp`
   * and `annotations` may differ in the result (callers resolve the mounts meanwhile).
   */
  optimise(spec: OciSpec): Promise<OciSpec>;
}

/** The runtime failed: the message is its own error line; the exit code is Docker's for it. */
export class RuntimeFailure extends CairnError {
  readonly runtime: RuntimeName;
  constructor(runtime: RuntimeName, message: string, exitCode: number) {
    super('internal', message, { exitCode });
    this.name = 'RuntimeFailure';
    this.runtime = runtime;
  }
}

/**
 * Docker's exit code for the runtime's error when it starts a process (docker/cli's
 * runStartContainerErr): 127 when the executable was not found (runc's "executable file not
 * found", crun's "executable file `X` not found in $PATH", any "no such file or directory"),
 * 126 when it cannot be invoked ("permission denied", "is a directory", and crun's "Operation
 * not permitted" for a directory, "exec format error"), else 125.
 */
export function exitCodeFor(message: string): number {
  if (/executable file .*not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|operation not permitted|exec format error|is a directory/i.test(message)) return 126;
  return 125;
}

/**
 * The last error a runtime logged in its `--log` file (JSON lines, `level` error or fatal; a
 * line that is not JSON — an old runtime's plain text — is the message itself).
 */
export function lastRuntimeError(text: string): string | undefined {
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if ((entry.level === 'error' || entry.level === 'fatal') && typeof entry.msg === 'string') last = entry.msg;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      last = line.trim();
    }
  }
  return last;
}

/** The runtime commands that start a process: only their failures can be 126 or 127. */
const STARTS_PROCESS = new Set(['create', 'start', 'run', 'exec']);

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkId(id: string): void {
  if (!ID.test(id)) throw new InvalidArgumentError(`invalid container ID ${JSON.stringify(id)} for the OCI runtime`);
}

/** The exit code of a finished child as a shell reports it (128+N for signal N). */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : osConstants.signals[signal];
  return 128 + (n ?? 0);
}

function stdioOf(stdio: Stdio): [StdioMode, StdioMode, StdioMode] {
  return typeof stdio === 'string' ? [stdio, stdio, stdio] : [stdio[0], stdio[1], stdio[2]];
}

/**
 * A stream of a runtime process that exits before the container's output ends (create):
 * Node resumes such a child's unread pipes when it exits, dropping what arrives before the
 * caller reads, so the output is piped at once into a stream that keeps it.
 */
function keep(stream: Readable | null): Readable | null {
  if (stream === null) return null;
  const kept = new PassThrough();
  stream.on('error', (e) => kept.destroy(e));
  return stream.pipe(kept);
}

/** A runtime driven through its command line (crun and runc share it). */
abstract class CliRuntime implements OciRuntime {
  abstract readonly name: RuntimeName;
  abstract optimise(spec: OciSpec): Promise<OciSpec>;
  /** `--root`: the runtime's state of cairn's containers. */
  readonly root: string;
  private readonly logs: string;
  readonly binary: string;
  protected readonly stateDir: string;
  private seq = 0;
  private path: string | undefined;

  constructor(stateDir: string, binary: string, name: RuntimeName) {
    this.root = join(stateDir, name);
    this.stateDir = stateDir;
    this.logs = join(stateDir, `${name}-log`);
    this.binary = binary;
  }

  executable(): string {
    try {
      return this.runnable();
    } catch (e) {
      if (e instanceof NotFoundError) return this.binary;
      throw e;
    }
  }

  /** {@link executable}, or NotFoundError when the binary is not on PATH. */
  private runnable(): string {
    const path = this.located();
    return this.name === 'crun' ? sealedBinary(path) : path;
  }

  /** The binary's path, found on PATH once (NotFoundError when it is not there). */
  protected located(): string {
    this.path ??= onPath(this.binary);
    return this.path;
  }

  private logFile(): string {
    mkdirSync(this.logs, { recursive: true, mode: 0o700 });
    return join(this.logs, `${process.pid}-${++this.seq}.json`);
  }

  /** The last error the runtime logged, or undefined; the log file is removed. */
  private takeLog(file: string): string | undefined {
    let text: string | undefined;
    try {
      text = readTextIfPresent(file);
    } finally {
      removeFile(file);
    }
    return text === undefined ? undefined : lastRuntimeError(text);
  }

  private failure(what: string, message: string | undefined, fallback: string): RuntimeFailure {
    const msg = (message ?? fallback).replace(/\s+/g, ' ').trim();
    return new RuntimeFailure(this.name, `${this.name} ${what}: ${msg}`, STARTS_PROCESS.has(what) ? exitCodeFor(msg) : 125);
  }

  private runtimeArgs(log: string, args: string[]): string[] {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    return ['--root', this.root, '--log', log, '--log-format', 'json', ...args];
  }

  private spawnRuntime(args: string[], log: string, stdio: Stdio): ChildProcess {
    return spawn(this.executable(), this.runtimeArgs(log, args), { stdio: stdioOf(stdio), argv0: this.binary });
  }

  /** Run a short command with its output captured; throws a RuntimeFailure when it fails. */
  private async call(what: string, args: string[]): Promise<string> {
    const log = this.logFile();
    const child = this.spawnRuntime(args, log, 'pipe');
    child.stdin!.end();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', (e) => reject(this.spawnError(e)));
      child.on('close', (c, s) => resolve(exitCodeOf(c, s)));
    });
    const logged = this.takeLog(log);
    if (code !== 0) throw this.failure(what, logged, Buffer.concat(err).toString().trim() || `exited with code ${code}`);
    return Buffer.concat(out).toString();
  }

  private spawnError(e: Error): CairnError {
    if (errnoCode(e) === 'ENOENT') return new NotFoundError(`OCI runtime ${this.name} not found (${this.binary}): install it (scripts/setup.sh does)`, { cause: e });
    return new CairnError('internal', `cannot run ${this.binary}: ${e.message}`, { cause: e });
  }

  exists(id: string): boolean {
    checkId(id);
    return existsSync(join(this.root, id));
  }

  async create(id: string, bundle: string, opts: { stdio?: StdioMode; pidFile?: string } = {}): Promise<ContainerStdio> {
    checkId(id);
    const log = this.logFile();
    const args = ['create', '--bundle', bundle, ...(opts.pidFile !== undefined ? ['--pid-file', opts.pidFile] : []), id];
    void primeCgroupAttach();
    const child = this.spawnRuntime(args, log, opts.stdio ?? 'ignore');
    // The runtime exits once the container is created; the container keeps the streams.
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', (e) => reject(this.spawnError(e)));
      child.on('exit', (c, s) => resolve(exitCodeOf(c, s)));
    });
    const logged = this.takeLog(log);
    if (code !== 0) {
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      throw this.failure('create', logged, `exited with code ${code}`);
    }
    return { stdin: child.stdin, stdout: keep(child.stdout), stderr: keep(child.stderr) };
  }

  async start(id: string): Promise<void> {
    checkId(id);
    await this.call('start', ['start', id]);
  }

  async kill(id: string, signal: NodeJS.Signals = 'SIGTERM', opts: { all?: boolean } = {}): Promise<void> {
    checkId(id);
    await this.call('kill', ['kill', ...(opts.all ? ['--all'] : []), id, signal.replace(/^SIG/, '')]);
  }

  async pause(id: string): Promise<void> {
    checkId(id);
    await this.call('pause', ['pause', id]);
  }

  async resume(id: string): Promise<void> {
    checkId(id);
    await this.call('resume', ['resume', id]);
  }

  async processes(id: string): Promise<number[]> {
    checkId(id);
    const out = await this.call('ps', ['ps', '--format', 'json', id]);
    let pids: unknown;
    try {
      pids = JSON.parse(out);
    } catch (e) {
      throw new CairnError('internal', `${this.name} ps ${id}: not JSON: ${out.slice(0, 200)}`, { cause: e });
    }
    if (!Array.isArray(pids) || !pids.every((p) => typeof p === 'number')) throw new CairnError('internal', `${this.name} ps ${id}: not a list of pids`);
    return pids as number[];
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    await this.call('delete', ['delete', ...(opts.force ? ['--force'] : []), id]);
  }

  async state(id: string): Promise<ContainerState> {
    if (!this.exists(id)) throw new NotFoundError(`no container ${id} in ${this.name}'s state (${this.root})`);
    const out = await this.call('state', ['state', id]);
    let raw: { id?: unknown; status?: unknown; pid?: unknown; bundle?: unknown };
    try {
      raw = JSON.parse(out) as typeof raw;
    } catch (e) {
      throw new CairnError('internal', `${this.name} state ${id}: not JSON: ${out.slice(0, 200)}`, { cause: e });
    }
    const statuses: readonly string[] = ['creating', 'created', 'running', 'paused', 'stopped'];
    if (typeof raw.status !== 'string' || !statuses.includes(raw.status)) throw new CairnError('internal', `${this.name} state ${id}: unknown status ${String(raw.status)}`);
    return {
      id: typeof raw.id === 'string' ? raw.id : id,
      status: raw.status as ContainerStatus,
      pid: typeof raw.pid === 'number' ? raw.pid : 0,
      bundle: typeof raw.bundle === 'string' ? raw.bundle : '',
    };
  }

  /** A foreground runtime command whose exit code is the process's, unless the runtime logged a failure. */
  private foreground(what: string, args: string[], stdio: Stdio, cleanup: () => void = () => {}): RuntimeProcess {
    // the runtime's cgroup attach follows: keep the kernel's fast path open for it (cgroup-prime.ts)
    void primeCgroupAttach();
    const modes = stdioOf(stdio);
    if (!modes.includes('pipe') && isNativeAvailable()) return this.foregroundSpawned(what, args, modes, cleanup);
    const log = this.logFile();
    const child = this.spawnRuntime(args, log, stdio);
    const done = new Promise<number>((resolve, reject) => {
      child.on('error', (e) => {
        cleanup();
        reject(this.spawnError(e));
      });
      child.on('close', (c, s) => {
        cleanup();
        const code = exitCodeOf(c, s);
        let logged: string | undefined;
        try {
          logged = this.takeLog(log);
        } catch (e) {
          reject(e);
          return;
        }
        // The runtime logs an error only for its own failures; a process's non-zero exit is not one.
        if (logged !== undefined && code !== 0) reject(this.failure(what, logged, `exited with code ${code}`));
        else resolve(code);
      });
    });
    // Keep an unobserved rejection from crashing the process before the caller waits.
    done.catch(() => undefined);
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      wait: () => done,
      signal: (sig) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      },
    };
  }

  /**
   * {@link foreground} when no stream is piped (`run --rm` writing straight to the caller's
   * output): started with posix_spawn rather than a fork of this process, and waited for on
   * a pidfd (native/src/process.c), which spares each start ~3 ms.
   */
  private foregroundSpawned(what: string, args: string[], modes: [StdioMode, StdioMode, StdioMode], cleanup: () => void): RuntimeProcess {
    const log = this.logFile();
    let child: SpawnedProcess;
    let devNull: number | undefined;
    try {
      const fds = modes.map((m, i) => (m === 'inherit' ? i : (devNull ??= openSync('/dev/null', 'r+')))) as [number, number, number];
      child = spawnProcess(this.runnable(), [this.binary, ...this.runtimeArgs(log, args)], fds);
    } catch (e) {
      cleanup();
      const failed = Promise.reject(e instanceof CairnError ? e : this.spawnError(e as Error));
      failed.catch(() => undefined);
      return { stdin: null, stdout: null, stderr: null, wait: () => failed, signal: () => {} };
    } finally {
      if (devNull !== undefined) closeSync(devNull);
    }
    let reaped = false;
    const done = waitProcess(child).then((code) => {
      reaped = true;
      cleanup();
      const logged = this.takeLog(log);
      if (logged !== undefined && code !== 0) throw this.failure(what, logged, `exited with code ${code}`);
      return code;
    });
    done.catch(() => undefined);
    return {
      stdin: null,
      stdout: null,
      stderr: null,
      wait: () => done,
      // (not reaped yet: the pid is still this child's, even once it exited)
      signal: (sig) => {
        if (!reaped) process.kill(child.pid, sig);
      },
    };
  }

  run(id: string, bundle: string, opts: { stdio?: Stdio; pidFile?: string } = {}): RuntimeProcess {
    checkId(id);
    return this.foreground('run', ['run', '--bundle', bundle, ...(opts.pidFile !== undefined ? ['--pid-file', opts.pidFile] : []), id], opts.stdio ?? 'inherit');
  }

  exec(id: string, proc: OciProcess, opts: { stdio?: Stdio; detach?: boolean } = {}): RuntimeProcess {
    checkId(id);
    mkdirSync(this.logs, { recursive: true, mode: 0o700 });
    const file = join(this.logs, `${process.pid}-${++this.seq}.process.json`);
    writeFileSync(file, JSON.stringify(proc), { mode: 0o600 });
    return this.foreground('exec', ['exec', '--process', file, ...(opts.detach ? ['--detach'] : []), ...(proc.terminal ? ['--tty'] : []), id], opts.stdio ?? 'inherit', () => rmSync(file, { force: true }));
  }
}

/** Where `binary` is found: itself when it has a slash, else the first match on $PATH. */
function onPath(binary: string): string {
  if (binary.includes('/')) return binary;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, binary);
    if (existsSync(p)) return p;
  }
  throw new NotFoundError(`OCI runtime ${binary} not found on PATH: install it (scripts/setup.sh does)`);
}

export class CrunRuntime extends CliRuntime {
  readonly name = 'crun' as const;
  constructor(stateDir: string, binary = 'crun') {
    super(stateDir, binary, 'crun');
  }

  override async optimise(spec: OciSpec): Promise<OciSpec> {
    const seccomp = spec.linux.seccomp;
    if (seccomp === undefined) return spec;
    const dir = join(this.stateDir, 'crun-seccomp');
    const key = await seccompKey(seccomp, binaryIdentity(this.located()));
    const b64 = cachedFilter(dir, key) ?? (await this.compile(spec, dir, key));
    // crun loads the annotation's filter and ignores the section; without it, crun need not parse the section at all (~5 ms).
    const linux = { ...spec.linux };
    delete linux.seccomp;
    return { ...spec, linux, annotations: { ...spec.annotations, [BPF_ANNOTATION]: b64 } };
  }

  /** Have crun compile the spec's filter: create a throwaway container, keep its seccomp.bpf, delete it. */
  private async compile(spec: OciSpec, dir: string, key: string): Promise<string> {
    const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const scratch = join(dir, `.compile-${suffix}`);
    const id = `cairn-seccomp-${suffix}`;
    try {
      mkdirSync(join(scratch, 'rootfs', 'dev'), { recursive: true, mode: 0o700 });
      // crun checks at create that the process's executable is there; it is never run.
      writeFileSync(join(scratch, 'rootfs', 'never-started'), '', { mode: 0o755 });
      writeFileSync(join(scratch, 'config.json'), specJson(compileSpec(spec.linux.seccomp!, join(scratch, 'rootfs'), id)));
      await this.create(id, scratch, { stdio: 'ignore' });
      try {
        return storeFilter(dir, key, readFileSync(join(this.root, id, 'seccomp.bpf')));
      } finally {
        await this.delete(id, { force: true });
      }
    } finally {
      dropScratch(scratch);
    }
  }
}

export class RuncRuntime extends CliRuntime {
  readonly name = 'runc' as const;
  constructor(stateDir: string, binary = 'runc') {
    super(stateDir, binary, 'runc');
  }

  override async optimise(spec: OciSpec): Promise<OciSpec> {
    return spec;
  }
}

/** The runtime called `name` (crun by default), keeping its state under `stateDir`. */
export function ociRuntime(stateDir: string, name = 'crun'): OciRuntime {
  switch (name) {
    case 'crun':
      return new CrunRuntime(stateDir);
    case 'runc':
      return new RuncRuntime(stateDir);
    default:
      throw new InvalidArgumentError(`unknown OCI runtime ${JSON.stringify(name)}: cairn knows ${RUNTIME_NAMES.join(' and ')}`);
  }
}
