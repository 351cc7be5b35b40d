/**
 * conmon, the monitor that holds a detached container: this module owns starting one container
 * under conmon (`createWithConmon`), reading what conmon leaves behind (the exit file:
 * `readExit`), and telling whether a conmon still runs (`conmonAlive`, robust to pid reuse: process.ts).
 *
 * conmon (2.1, Debian's) is spawned as podman spawns it: `--api-version 1`, the runtime's
 * `create` run by conmon with `--runtime-arg --root R` (the OciRuntime's state, so that
 * `OciRuntime.start/kill/delete/state` see the container) and the runtime's own JSON error log;
 * a sync pipe (`_OCI_SYNCPIPE`, fd 3) on which conmon sends `{"data": PID}` once the container
 * is created, or `{"data": -1, "message": ...}` when the runtime failed. conmon forks twice and
 * calls setsid: the process cairn spawns exits at once (its pid file names the one that stays),
 * and cairn keeps no pipe or handle to it, so the calling process can exit while the container
 * runs. The caller then starts the container with `OciRuntime.start`.
 *
 * Files, for container `id` with bundle B, persist directory P and exit directory E:
 * - `B/attach`: the attach socket (SOCK_SEQPACKET; `--full-attach`: in the bundle whatever its
 *   length, which attach.ts reaches through /proc/self/fd, so no short socket directory is
 *   needed); `B/ctl` and `B/winsz`: the control fifos (resize: attach.ts). conmon unlinks
 *   the socket when it exits; the fifos stay until the bundle is removed.
 * - `E/<id>` and `P/exit`: the exit code as decimal text, no newline (128+N when the
 *   container's process was killed by signal N: 137 for SIGKILL, as Docker reports it), written
 *   after the container's output is drained into the log and synced. `P/oom`: present when the
 *   kernel's OOM killer killed it (cgroup events).
 * - `P/conmon.pid`: conmon's pid (written by the first conmon before it exits);
 *   `P/pidfile`: the container's init pid (written by the runtime); `P/oci-log`: the runtime's
 *   log while creating (removed once read). conmon runs with P as its working directory.
 *
 * conmon runs the exit command from atexit(): also when the runtime's create fails. So the
 * command is wrapped (`/bin/sh -c`) to run only when the exit file exists — that is, only
 * after a container that ran has exited. It runs with conmon's environment (the caller's, minus
 * NOTIFY_SOCKET; `_OCI_*` unset), stdin/stdout/stderr on /dev/null, P as working directory;
 * conmon waits for it before it exits itself.
 *
 * A process whose parent exits is adopted by PID 1 (or the nearest subreaper), which must reap
 * it: until it does (some VM and container inits reap late, some never), an exited conmon is a
 * zombie that still answers kill(pid, 0) — `conmonAlive` reads /proc and counts it as gone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError, InvalidArgumentError, errnoCode } from '../errors.js';
import { RuntimeFailure, exitCodeFor, lastRuntimeError, type RuntimeName } from '../runtime/oci-runtime.js';
import { processRunning, processStartTime } from '../process.js';
import { readTextIfPresent } from '../text-file.js';

/** The OCI runtime conmon runs: its name (for messages), binary, and `--root` (CliRuntime's `root`: `${stateDir}/${name}`). */
export interface ConmonRuntime {
  name: RuntimeName;
  /** A path, or a name looked up in PATH (conmon needs an absolute path: it is resolved here). */
  binary: string;
  root: string;
}

/**
 * How the container's output is kept. conmon 2.1 writes only k8s-file (CRI's
 * `TIME STREAM P|F TEXT` lines, read by logfile.ts): 'json-file' is accepted and written as
 * k8s-file, as podman does; 'none' keeps nothing (attach still sees the output).
 */
export type LogDriver = 'k8s-file' | 'json-file' | 'none';

export interface ConmonOptions {
  /** The container's ID (the runtime's name for it, and conmon's). */
  id: string;
  /** Its OCI bundle (config.json); conmon puts the attach socket and control fifos here. */
  bundle: string;
  runtime: ConmonRuntime;
  /** The log file (created by conmon, appended to; its directory is made). */
  logPath: string;
  logDriver?: LogDriver;
  /** `--log-size-max`: past this many bytes conmon starts the log file again, empty (the old lines are lost). */
  logSizeMax?: number;
  /** A terminal (the spec's process.terminal must be true): stdout and stderr become one stream. */
  tty?: boolean;
  /** Keep a pipe to the container's stdin for attach (`-i`); ignored with `tty` (the terminal is its stdin). */
  interactive?: boolean;
  /** With `interactive`: keep the container's stdin open when an attached client closes its input (Docker's StdinOnce=false, `run -d -i`). */
  leaveStdinOpen?: boolean;
  /** conmon writes `exitDir/<id>` when the container exits (made if missing). */
  exitDir: string;
  /** The container's own directory for conmon's files (exit, oom, pid files; made if missing). */
  persistDir: string;
  /** Run once the container has exited (argv; the first word looked up in PATH). */
  exitCommand?: string[];
  /** Seconds conmon waits before running the exit command. */
  exitDelay?: number;
  /** The container's name, for conmon's own messages. */
  name?: string;
  /** conmon's binary: a path, or a name looked up in PATH (default 'conmon'). */
  conmonBinary?: string;
  /** How long to wait for the runtime to create the container (default 60 s). */
  timeoutMs?: number;
}

/** A container created under conmon (its process set up, waiting for `OciRuntime.start`). */
export interface ConmonStarted {
  /** The container's init process on the host. */
  pid: number;
  /** conmon's process (it stays until the container exits and the exit command ran). */
  conmonPid: number;
  /** conmon's start time (/proc/PID/stat field 22), for {@link conmonAlive} across pid reuse; undefined if it was already gone. */
  conmonStartTime: number | undefined;
}

/** What conmon recorded when the container exited. */
export interface ConmonExit {
  /**
   * The exit code: the process's own, or 128+N when it was killed by signal N (137 for
   * SIGKILL: conmon's reckoning, which podman and Docker report as is; a process that exits
   * with 137 itself looks the same). -1: conmon could not tell.
   */
  exitCode: number;
  /** conmon saw the kernel's OOM killer act on the container's cgroup. */
  oomKilled: boolean;
  /** When the exit file was written. */
  exitedAt: Date;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SYNC_FD = 3;
const STDERR_KEEP = 16 * 1024;

/** The attach socket conmon serves in `bundle` (attach.ts connects to it). */
export function attachSocketPath(bundle: string): string {
  return join(bundle, 'attach');
}

/** The control fifo conmon reads in `bundle` (`1 ROWS COLS` resizes the terminal; attach.ts). */
export function controlPath(bundle: string): string {
  return join(bundle, 'ctl');
}

/** conmon's exit file in the exit directory (`exitDir/<id>`): watch this to learn of an exit. */
export function exitFilePath(exitDir: string, id: string): string {
  return join(exitDir, id);
}

/** conmon's pid file in the persist directory. */
export function conmonPidPath(persistDir: string): string {
  return join(persistDir, 'conmon.pid');
}

/** The container's init pid file (written by the runtime) in the persist directory. */
export function containerPidPath(persistDir: string): string {
  return join(persistDir, 'pidfile');
}

function ociLogPath(persistDir: string): string {
  return join(persistDir, 'oci-log');
}

/** `name` as an absolute path: itself when it has a slash, else the first executable of that name in PATH (a missing one fails cairn: 125). */
export function findExecutable(name: string, what: string): string {
  if (name.includes('/')) {
    const abs = resolve(name);
    if (!isExecutable(abs)) throw new CairnError('not-found', `${what} not found: ${abs} is not an executable file`, { exitCode: 125 });
    return abs;
  }
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  throw new CairnError('not-found', `${what} not found: no ${name} in PATH (scripts/setup.sh installs it)`, { exitCode: 125 });
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, fsConstants.X_OK);
    return statSync(p).isFile();
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * The exit command wrapped so that it runs only once the container exited: conmon also runs it
 * when the runtime's create fails (atexit), and then no exit file exists. The sh script gets
 * the exit file as $0 and the command as "$@".
 */
function guardedExitCommand(persistDir: string, command: readonly string[]): string[] {
  const script = 'unset _OCI_SYNCPIPE _OCI_STARTPIPE; test -e "$0" || exit 0; exec "$@"';
  return ['/bin/sh', '-c', script, join(persistDir, 'exit'), ...command];
}

/** conmon's command line for `o` (binaries already resolved). */
function conmonArgs(o: ConmonOptions, runtimeBinary: string): string[] {
  const driver = o.logDriver ?? 'k8s-file';
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.id,
    '-r', runtimeBinary,
    '-b', o.bundle,
    '-p', containerPidPath(o.persistDir),
    '--conmon-pidfile', conmonPidPath(o.persistDir),
    '--exit-dir', o.exitDir,
    '--persist-dir', o.persistDir,
    '--full-attach',
    '-l', driver === 'none' ? 'none' : `k8s-file:${o.logPath}`,
    '--runtime-arg', '--root', '--runtime-arg', o.runtime.root,
    '--runtime-arg', '--log-format=json', '--runtime-arg', '--log', '--runtime-arg', ociLogPath(o.persistDir),
  ];
  if (o.name !== undefined) args.push('-n', o.name);
  if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(Math.floor(o.logSizeMax)));
  if (o.tty) args.push('-t');
  else if (o.interactive) {
    args.push('-i');
    if (o.leaveStdinOpen) args.push('--leave-stdin-open');
  }
  if (o.exitCommand !== undefined && o.exitCommand.length > 0) {
    const [cmd, ...rest] = guardedExitCommand(o.persistDir, o.exitCommand);
    args.push('--exit-command', cmd!);
    for (const a of rest) args.push('--exit-command-arg', a);
    if (o.exitDelay !== undefined && o.exitDelay > 0) args.push('--exit-delay', String(Math.floor(o.exitDelay)));
  }
  return args;
}

function checkOptions(o: ConmonOptions): void {
  if (!ID.test(o.id)) throw new InvalidArgumentError(`invalid container ID ${JSON.stringify(o.id)} for conmon`);
  for (const [k, v] of [['bundle', o.bundle], ['logPath', o.logPath], ['exitDir', o.exitDir], ['persistDir', o.persistDir], ['runtime.root', o.runtime.root]] as const) {
    if (!isAbsolute(v)) throw new InvalidArgumentError(`conmon's ${k} must be an absolute path (got ${JSON.stringify(v)})`);
  }
  // conmon splits its -l value at ':' (DRIVER:PATH).
  if (o.logPath.includes(':')) throw new InvalidArgumentError(`conmon cannot log to ${o.logPath}: the path holds a ':'`);
  if (o.exitCommand !== undefined && o.exitCommand.length > 0 && o.exitCommand[0] === '') throw new InvalidArgumentError('the exit command is empty');
}

/** The first line conmon sends on the sync pipe, or '' if it closed the pipe first. */
function firstLine(stream: Readable): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const done = (line: string) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.destroy();
      resolvePromise(line);
    };
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) done(text.slice(0, nl));
      else if (text.length > 1 << 20) done(text);
    };
    const onEnd = () => done(text);
    const onError = (e: Error) => {
      stream.destroy();
      reject(e);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/** The last error the runtime logged in its JSON log (`{"level":"error","msg":...}` lines), or undefined. */
function runtimeLogError(file: string): string | undefined {
  const text = readTextIfPresent(file);
  return text === undefined ? undefined : lastRuntimeError(text);
}

function readPid(file: string): number | undefined {
  const text = readTextIfPresent(file)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The last non-empty line conmon wrote on its stderr, without its `[conmon:e]: ` tag. */
function conmonMessage(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^\[conmon:d\]/.test(l));
  const last = lines[lines.length - 1];
  return last?.replace(/^\[conmon:[a-z]\]:?\s*/, '');
}

/** `promise`'s value, or undefined once `ms` passed (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((res) => {
    timer = setTimeout(() => res(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kill and wait out a conmon that must not stay (a failed or timed-out create). */
async function reapConmon(pid: number | undefined, startTime: number | undefined, graceMs: number): Promise<void> {
  if (pid === undefined) return;
  const deadline = Date.now() + graceMs;
  while (processRunning(pid, startTime) && Date.now() < deadline) await sleep(10);
  if (!processRunning(pid, startTime)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if (errnoCode(e) !== 'ESRCH') throw e;
  }
  const killed = Date.now() + 5_000;
  while (processRunning(pid, startTime)) {
    if (Date.now() > killed) throw new CairnError('internal', `conmon (pid ${pid}) does not exit after SIGKILL`);
    await sleep(10);
  }
}

/** Remove what the runtime may hold of container `id` after a failed create. */
function deleteFromRuntime(runtimeBinary: string, root: string, id: string): void {
  if (!existsSync(join(root, id))) return;
  const r = spawnSync(runtimeBinary, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
  if (r.error !== undefined) throw new CairnError('internal', `cannot run ${runtimeBinary} delete: ${r.error.message}`, { cause: r.error });
}

/**
 * Create container `id` under conmon: conmon runs the runtime's `create`, takes the container's
 * stdio (log file, attach socket, terminal) and watches it. Resolves once the container is
 * created — start it with `OciRuntime.start(id)`. A failure of the runtime rejects with a
 * {@link RuntimeFailure} (127 command not found, 126 cannot be invoked, else 125) after conmon
 * is gone and the runtime holds nothing of the container; other failures are CairnErrors (125).
 */
export async function createWithConmon(o: ConmonOptions): Promise<ConmonStarted> {
  checkOptions(o);
  const conmon = findExecutable(o.conmonBinary ?? 'conmon', 'conmon');
  const runtimeBinary = findExecutable(o.runtime.binary, `OCI runtime ${o.runtime.name}`);
  for (const d of [o.exitDir, o.persistDir, dirname(o.logPath)]) mkdirSync(d, { recursive: true, mode: 0o700 });
  // What a previous run of this container left would be read as this run's.
  for (const f of [exitFilePath(o.exitDir, o.id), join(o.persistDir, 'exit'), join(o.persistDir, 'oom'), conmonPidPath(o.persistDir), containerPidPath(o.persistDir), ociLogPath(o.persistDir)]) {
    rmSync(f, { force: true });
  }

  const env: NodeJS.ProcessEnv = { ...process.env, _OCI_SYNCPIPE: String(SYNC_FD) };
  delete env.NOTIFY_SOCKET;
  delete env._OCI_STARTPIPE;
  const child = spawn(conmon, conmonArgs(o, runtimeBinary), {
    cwd: o.persistDir,
    detached: true,
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  child.unref();
  const sync = child.stdio[SYNC_FD] as Readable;
  const stderrStream = child.stderr!;
  let stderr = '';
  stderrStream.on('data', (d: Buffer) => {
    if (stderr.length < STDERR_KEEP) stderr += d.toString('utf8');
  });
  const stderrDone = new Promise<void>((res) => {
    stderrStream.on('close', () => res());
  });
  const syncLine = firstLine(sync);
  // Keep a rejection seen before it is awaited from crashing the process.
  syncLine.catch(() => undefined);

  const code = await new Promise<number>((res, reject) => {
    child.on('error', (e) => {
      sync.destroy();
      stderrStream.destroy();
      reject(new CairnError('internal', `cannot run ${conmon}: ${e.message}`, { cause: e, exitCode: 125 }));
    });
    child.on('exit', (c, s) => res(c ?? 128 + (s === null ? 0 : osConstants.signals[s])));
  });
  const conmonPid = readPid(conmonPidPath(o.persistDir));
  const conmonStartTime = conmonPid === undefined ? undefined : processStartTime(conmonPid);

  const fail = async (message: string, exitCode: number, runtimeFailure: boolean): Promise<never> => {
    await reapConmon(conmonPid, conmonStartTime, 5_000);
    sync.destroy();
    await within(stderrDone, 1_000);
    stderrStream.destroy();
    deleteFromRuntime(runtimeBinary, o.runtime.root, o.id);
    rmSync(ociLogPath(o.persistDir), { force: true });
    const msg = message.replace(/\s+/g, ' ').trim();
    if (runtimeFailure) throw new RuntimeFailure(o.runtime.name, `${o.runtime.name} create: ${msg}`, exitCode);
    throw new CairnError('internal', msg, { exitCode });
  };

  if (code !== 0 || conmonPid === undefined) {
    await within(stderrDone, 1_000);
    return fail(`conmon failed: ${conmonMessage(stderr) ?? `exited with code ${code}`}`, 125, false);
  }

  const timeoutMs = o.timeoutMs ?? 60_000;
  const line = await within(syncLine, timeoutMs);
  if (line === undefined) return fail(`conmon: the runtime did not create container ${o.id} within ${timeoutMs} ms`, 125, false);

  let data: number | undefined;
  let message: string | undefined;
  if (line !== '') {
    try {
      const parsed = JSON.parse(line) as { data?: unknown; message?: unknown };
      if (typeof parsed.data === 'number') data = parsed.data;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      return fail(`conmon sent ${JSON.stringify(line.slice(0, 200))} on its sync pipe`, 125, false);
    }
  }
  if (data === undefined || data <= 0) {
    // The runtime failed (data -1), or conmon closed the pipe without a word.
    await within(stderrDone, 1_000);
    const runtimeSaid = runtimeLogError(ociLogPath(o.persistDir)) ?? message?.trim();
    if (runtimeSaid !== undefined && runtimeSaid !== '') return fail(runtimeSaid, exitCodeFor(runtimeSaid), true);
    return fail(`conmon failed: ${conmonMessage(stderr) ?? 'it closed its sync pipe without reporting the container'}`, 125, false);
  }
  // conmon keeps its end of the pipe until it exits; cairn lets go of everything.
  sync.destroy();
  stderrStream.destroy();
  rmSync(ociLogPath(o.persistDir), { force: true });
  return { pid: data, conmonPid, conmonStartTime };
}

/**
 * What conmon recorded in `persistDir` when the container exited, or undefined when there is
 * no exit file yet (still running, or conmon died without writing one: then podman reports
 * exit code -1, "conmon died without writing exit file").
 */
export function readExit(persistDir: string): ConmonExit | undefined {
  const file = join(persistDir, 'exit');
  let text: string;
  let exitedAt: Date;
  try {
    text = readFileSync(file, 'utf8').trim();
    exitedAt = statSync(file).mtime;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  if (!/^-?\d+$/.test(text)) throw new CairnError('data-corrupt', `conmon's exit file ${file} holds ${JSON.stringify(text.slice(0, 40))}, not an exit code`);
  const exitCode = Number(text);
  return { exitCode, oomKilled: existsSync(join(persistDir, 'oom')), exitedAt };
}

export interface WaitForExitOptions {
  /** conmon's pid and start time (from {@link createWithConmon}): when it is gone without an exit file, the wait ends. */
  conmonPid?: number;
  conmonStartTime?: number;
  /** How often to look (default 50 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Wait for conmon's exit file in `persistDir` (conmon writes it once the container exited and
 * its output is in the log; attach connections close just before). Undefined when conmon
 * died without writing one, or `signal` aborted the wait.
 */
export async function waitForExit(persistDir: string, opts: WaitForExitOptions = {}): Promise<ConmonExit | undefined> {
  const pollMs = opts.pollMs ?? 50;
  while (true) {
    const exit = readExit(persistDir);
    if (exit !== undefined) return exit;
    if (opts.signal?.aborted) return undefined;
    if (opts.conmonPid !== undefined && !processRunning(opts.conmonPid, opts.conmonStartTime)) {
      // It may have written the file just before it exited.
      return readExit(persistDir);
    }
    try {
      await sleep(pollMs, undefined, opts.signal === undefined ? {} : { signal: opts.signal });
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') return undefined;
      throw e;
    }
  }
}
