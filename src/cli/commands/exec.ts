/**
 * `cairn exec [OPTIONS] CONTAINER COMMAND [ARG...]`: a command in a running container; its
 * output here, its exit code ours (126 when it could not be started, as Docker 20.10's exec);
 * `-d` leaves it running in the container.
 */
import type { Command } from 'commander';
import type { Cairn } from '../../engine.js';
import { CairnError } from '../../errors.js';
import { envFromFiles } from '../container-flags.js';
import { withCairn } from '../context.js';

interface ExecFlags {
  detach?: boolean;
  env: string[];
  envFile: string[];
  interactive?: boolean;
  privileged?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function run(program: Command, cmd: Command, container: string, args: string[]): Promise<void> {
  const o = cmd.opts<ExecFlags>();
  let fileEnv: string[];
  try {
    fileEnv = envFromFiles(o.envFile);
  } catch (e) {
    // Docker's exec says a file it cannot read bare, exit 1
    if (e instanceof CairnError) throw new CairnError(e.code, e.message, { cause: e, exitCode: 1, bare: true });
    throw e;
  }
  await withCairn(program, async (cairn) => {
    try {
      await execIn(cairn, container, args, o, fileEnv);
    } catch (e) {
      // Docker's exec -d: a process that could not start fails the request, exit 1
      if (o.detach && e instanceof CairnError && e.exitCode === 126) throw new CairnError(e.code, e.message, { cause: e, exitCode: 1 });
      throw e;
    }
  });
}

/** The command in the container: its output here, its exit code ours. */
async function execIn(cairn: Cairn, container: string, args: string[], o: ExecFlags, fileEnv: string[]): Promise<void> {
  const opts = {
    args,
    env: [...fileEnv, ...o.env],
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    tty: o.tty ?? false,
  };
  const tty = (o.tty ?? false) && !o.detach;
  const proc = await cairn.exec(container, opts, o.detach ? 'ignore' : tty ? 'inherit' : 'pipe', o.detach ?? false);
  const forward = (sig: NodeJS.Signals) => proc.signal(sig);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    if (proc.stdout) proc.stdout.pipe(process.stdout, { end: false });
    if (proc.stderr) proc.stderr.pipe(process.stderr, { end: false });
    if (proc.stdin) {
      if (o.interactive) process.stdin.pipe(proc.stdin);
      else proc.stdin.end();
    }
    process.exitCode = await proc.wait();
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    if (o.interactive) process.stdin.unpipe();
    process.stdin.destroy();
  }
}
