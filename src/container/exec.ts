/**
 * `exec`: one more process in a running container, run by the OCI runtime's `exec` from this
 * process (no conmon: the caller waits for it, or `-d` leaves it to the container). It starts
 * from the container's own process as its bundle has it (capabilities, rlimits, environment,
 * user, working directory), with `-e` merged into the environment, `-u` resolved against the
 * image's passwd and group (read inside the root filesystem), `-w` and `-t` applied. A process
 * that cannot be started fails with Docker 20.10's exit code for it, 126.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CairnError, ConflictError } from '../errors.js';
import { RuntimeFailure, type RuntimeProcess, type StdioMode } from '../runtime/oci-runtime.js';
import { mergeEnv, processUser, type OciProcess, type OciSpec } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import type { Store } from '../store/store.js';
import { containerFiles } from './files.js';
import { refresh, runtimeOf } from './lifecycle.js';
import type { ContainerRecord } from './model.js';

export interface ExecOptions {
  args: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  privileged?: boolean;
}

/**
 * Docker 20.10's exit code for an exec whose process could not be started, whatever the reason
 * (not found, not executable, a missing working directory, an unknown user): its daemon's 126.
 */
const NOT_STARTED = 126;

/** `e` with Docker's exit code for an exec that could not start. */
function notStarted(e: CairnError): CairnError {
  if (e instanceof RuntimeFailure) return new RuntimeFailure(e.runtime, e.message, NOT_STARTED);
  return new CairnError(e.code, e.message, { cause: e, exitCode: NOT_STARTED });
}

/** The process `exec` runs, made from the container's own. */
export function execProcessOf(base: OciProcess, rootfs: string, o: ExecOptions): OciProcess {
  // runc's check (Docker's words): a relative working directory is refused
  if (o.workdir !== undefined && o.workdir !== '' && !o.workdir.startsWith('/')) throw new CairnError('invalid-argument', 'Cwd must be an absolute path', { exitCode: NOT_STARTED });
  let user;
  try {
    user = o.user !== undefined && o.user !== '' ? resolveUser(rootfs, o.user) : undefined;
  } catch (e) {
    if (e instanceof CairnError) throw notStarted(e);
    throw e;
  }
  let env = mergeEnv(base.env.filter((e) => !e.startsWith('TERM=')), o.env ?? []);
  if (o.tty && !env.some((e) => e.startsWith('TERM='))) env = [...env, 'TERM=xterm'];
  if (user !== undefined) env = env.map((e) => (e.startsWith('HOME=') && !(o.env ?? []).some((x) => x.startsWith('HOME=')) ? `HOME=${user.home || '/'}` : e));
  return {
    ...base,
    terminal: o.tty ?? false,
    args: o.args,
    env,
    cwd: o.workdir !== undefined && o.workdir !== '' ? o.workdir : base.cwd,
    user: user !== undefined ? processUser(user) : base.user,
  };
}

/** `name`: the container as the caller named it (Docker's "is paused" names it so, "is not running" by ID). */
export async function execInContainer(store: Store, rec: ContainerRecord, o: ExecOptions, stdio: StdioMode, detach = false, name: string = rec.id): Promise<RuntimeProcess> {
  const now = await refresh(store, rec);
  if (now.state.status !== 'running') {
    throw new ConflictError(now.state.status === 'paused' ? `Container ${name} is paused, unpause the container before exec` : `Container ${rec.id} is not running`);
  }
  const files = containerFiles(store.root, rec.id);
  const spec = JSON.parse(readFileSync(join(files.bundle, 'config.json'), 'utf8')) as OciSpec;
  const proc = execProcessOf(spec.process, files.rootfs, o);
  const started = runtimeOf(store, rec).exec(rec.id, proc, { stdio, detach });
  return {
    ...started,
    wait: () =>
      started.wait().catch((e: unknown) => {
        throw e instanceof RuntimeFailure ? notStarted(e) : e;
      }),
  };
}
