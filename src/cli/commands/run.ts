/**
 * `cairn run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create a container and start it. In the
 * foreground (the default) this process runs it and is its monitor: the container's output
 * reaches this terminal, signals sent to this process are forwarded to it, and the exit code is
 * the container's (125 when cairn itself failed, 126/127 when the command could not be
 * invoked or found). A container that could not start is removed again (nothing is left, as
 * `--rm` would do on every path, Ctrl-C included).
 */
import type { Command } from 'commander';
import type { Cairn } from '../../engine.js';
import { isTerminal } from '../../native/index.js';
import type { StdioMode } from '../../runtime/oci-runtime.js';
import { CairnError, NotFoundError } from '../../errors.js';
import { containerError, createOptionsFromFlags, reportFlagError, type CreateFlags } from '../container-flags.js';
import { checkTty, out, withCairn } from '../context.js';
import { ensureImage } from './create.js';

interface RunFlags extends CreateFlags {
  sigProxy: string;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function run(program: Command, cmd: Command, image: string, args: string[]): Promise<void> {
  const o = cmd.opts<RunFlags>();
  let options;
  try {
    options = createOptionsFromFlags('run', image, args, o);
  } catch (e) {
    if (reportFlagError(e, cmd.parent?.name() === 'container' ? 'cairn container run' : 'cairn run')) return;
    if (e instanceof CairnError) throw containerError(e, 'run', 'create');
    throw e;
  }
  const settings = options;
  if (!o.detach) checkTty(settings.attachStdin, settings.tty);
  await withCairn(program, async (cairn) => {
    let rec;
    try {
      await ensureImage(cairn, image, o);
      cairn.primeContainerStart();
      rec = await cairn.createContainer(settings);
    } catch (e) {
      // Docker's `run` says it with the help hint and fails with 125 when the container cannot be made.
      if (e instanceof CairnError) throw containerError(e, 'run', 'create');
      throw e;
    }
    try {
      if (o.detach) {
        let started;
        try {
          started = await cairn.startDetached(rec.id);
        } catch (e) {
          await removeQuietly(cairn, rec.id);
          throw asStartFailure(e);
        }
        for (const w of started.warnings) process.stderr.write(`WARNING: ${w}\n`);
        out(`${rec.id}\n`);
        return;
      }
      if (settings.tty) {
        process.exitCode = await attached(cairn, rec.id, settings.openStdin, true, settings.detachKeys);
        return;
      }
      // Docker's run with -a: only those streams shown; with neither output stream, the ID printed first
      if (!settings.attachStdout && !settings.attachStderr) out(`${rec.id}\n`);
      process.exitCode = await foreground(cairn, rec.id, settings.tty, settings.openStdin, o.sigProxy !== 'false', true, { stdout: settings.attachStdout, stderr: settings.attachStderr }, settings.autoRemove);
    } catch (e) {
      if (e instanceof CairnError) throw containerError(e, 'run', 'start');
      throw e;
    }
  });
}

/**
 * Docker's exit code for a container that could not be started: 126 or 127 when its command
 * could not be invoked or found, else 125 (cairn itself failed: a user the image lacks, a
 * working directory that is a file, a mount that cannot be made).
 */
function asStartFailure(e: unknown): unknown {
  if (!(e instanceof CairnError) || e.exitCode === 125 || e.exitCode === 126 || e.exitCode === 127) return e;
  return new CairnError(e.code, e.message, { cause: e, exitCode: 125 });
}

/**
 * A container with a terminal, in the foreground: started under conmon with this process
 * attached (raw terminal, resized as it is; ctrl-p ctrl-q detaches). Its exit code.
 */
export async function attached(cairn: Cairn, id: string, interactive: boolean, removeOnFailure: boolean, detachKeys?: string): Promise<number> {
  let r;
  try {
    r = await cairn.runAttached(id, { ...(interactive ? { stdin: process.stdin } : {}), stdout: process.stdout, stderr: process.stderr, tty: true, ...(detachKeys !== undefined ? { detachKeys } : {}) });
  } catch (e) {
    if (removeOnFailure) await removeQuietly(cairn, id);
    throw asStartFailure(e);
  }
  for (const w of r.warnings) process.stderr.write(`WARNING: ${w}\n`);
  if (interactive) process.stdin.destroy();
  return r.detached ? 0 : (r.exitCode ?? 0);
}

/** Remove a container that failed to start (`--rm` may have removed it already). */
async function removeQuietly(cairn: Cairn, id: string): Promise<void> {
  try {
    await cairn.removeContainer(id, { force: true, volumes: true });
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}

/**
 * Run container `id` in the foreground; its exit code. With `removeOnFailure` (`run`), a start
 * that fails removes it. `streams`: the output streams shown here (run's `-a`; the others are
 * still read, and logged).
 */
export async function foreground(cairn: Cairn, id: string, tty: boolean, interactive: boolean, sigProxy: boolean, removeOnFailure: boolean, streams: { stdout: boolean; stderr: boolean } = { stdout: true, stderr: true }, autoRemove = false): Promise<number> {
  let fg;
  try {
    fg = await cairn.startForeground(id, tty ? 'inherit' : stdioFor(interactive, streams, autoRemove));
  } catch (e) {
    if (removeOnFailure) await removeQuietly(cairn, id);
    throw asStartFailure(e);
  }
  for (const w of fg.warnings) process.stderr.write(`WARNING: ${w}\n`);
  const proc = fg.process;
  // A terminal given to the container is raw here: keys reach it as typed (Docker's -t).
  const raw = tty && process.stdin.isTTY === true;
  if (raw) process.stdin.setRawMode(true);
  const forward = (sig: NodeJS.Signals) => proc.signal(sig);
  if (sigProxy) for (const s of FORWARDED) process.on(s, forward);
  try {
    if (proc.stdout) {
      if (streams.stdout) proc.stdout.pipe(process.stdout, { end: false });
      else proc.stdout.resume();
    }
    if (proc.stderr) {
      if (streams.stderr) proc.stderr.pipe(process.stderr, { end: false });
      else proc.stderr.resume();
    }
    if (proc.stdin) {
      if (interactive) process.stdin.pipe(proc.stdin);
      else proc.stdin.end();
    }
    try {
      return await fg.exited;
    } catch (e) {
      if (removeOnFailure) await removeQuietly(cairn, id);
      throw asStartFailure(e);
    }
  } finally {
    if (raw) process.stdin.setRawMode(false);
    if (sigProxy) for (const s of FORWARDED) process.off(s, forward);
    if (interactive) process.stdin.unpipe();
    // (process.stdin is made on first use: a run that never read it need not make it to close it)
    if (interactive || tty) process.stdin.destroy();
  }
}

/**
 * The container's stdio for a foreground run without a terminal. Its stdin is a pipe with `-i`,
 * else /dev/null (as Docker gives it). Its output is piped through this process when it must
 * also be logged, or when this process's own stream is a terminal (Docker's container never
 * sees a terminal without -t, and would write as to one: `ls` in columns, colours); otherwise
 * (`--rm`: the log goes with the container) it writes straight to this process's stream, or to
 * /dev/null when that stream is not attached (`-a`), with no copying here.
 */
function stdioFor(interactive: boolean, streams: { stdout: boolean; stderr: boolean }, autoRemove: boolean): [StdioMode, StdioMode, StdioMode] {
  const direct = (attached: boolean, fd: number): StdioMode => {
    if (!autoRemove) return 'pipe';
    if (!attached) return 'ignore';
    return isTerminal(fd) ? 'pipe' : 'inherit';
  };
  return [interactive ? 'pipe' : 'ignore', direct(streams.stdout, 1), direct(streams.stderr, 2)];
}
