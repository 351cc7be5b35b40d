/**
 * `exec`: one more process in a running container, run by the OCI runtime's `exec` from this
 * process (no conmon: the caller waits for it, or `-d` leaves it to the container). It starts
 * from the container's own process as its bundle has it (capabilities, rlimits, environment,
 * user, working directory), with `-e` merged into the environment, `-u` resolved against the
 * image's passwd and group (read inside the root filesystem), `-w` and `-t` applied.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../errors.js';
import type { RuntimeProcess, StdioMode } from '../runtime/oci-runtime.js';
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

/** The process `exec` runs, made from the container's own. */
export function execProcessOf(base: OciProcess, rootfs: string, o: ExecOptions): OciProcess {
  const user = o.user !== undefined && o.user !== '' ? resolveUser(rootfs, o.user) : undefined;
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
  return runtimeOf(store, rec).exec(rec.id, proc, { stdio, detach });
}
