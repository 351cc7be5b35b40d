/**
 * A RUN step's command, executed in a real container: the OCI runtime (crun by default) runs
 * it on the step's root filesystem (the writable snapshot, mounted by the caller), with the
 * environment, user, working directory and network BuildKit gives a build container — the
 * hostname `buildkitsandbox`, the environment exactly the step's (containerd's default PATH
 * merged with it, no HOSTNAME), the host's /etc/resolv.conf and a hosts file bound in — and its
 * output handed to the caller as it comes.
 *
 * The mount points the runtime had to create for /etc/resolv.conf, /etc/hosts and the step's
 * own mounts are removed again when they are still empty, as BuildKit's MountStubsCleaner
 * does, so they do not end up in the layer. The bundle lives in a scratch directory removed
 * afterwards; the runtime deletes its container when the command ends.
 */
import { existsSync, lstatSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { CairnError, errnoCode } from '../errors.js';
import { randomHex } from '../random.js';
import { secureSpec, writeBundle } from '../runtime/bundle.js';
import { readHostFacts } from '../runtime/host.js';
import { ociRuntime, RuntimeFailure } from '../runtime/oci-runtime.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import { memoisedProfile } from '../runtime/seccomp-memo.js';
import { buildSpec, DEFAULT_PATH, mergeEnv, type BindMount, type OciSpec, type TmpfsMount } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import type { Store } from '../store/store.js';

/** BuildKit's hostname for build containers. */
export const BUILD_HOSTNAME = 'buildkitsandbox';

const HOSTS = `127.0.0.1\tlocalhost ${BUILD_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;

export interface RunCommand {
  /** The argv: the shell form already wrapped in the stage's shell. */
  args: string[];
  /** The environment the step sees (image Env and the ARGs in scope), KEY=VALUE. */
  env: string[];
  /** Absolute working directory inside the root filesystem ('' or '/': the root). */
  cwd: string;
  /** The image's USER ('' for root), resolved against the root filesystem's passwd and group. */
  user: string;
  network: 'none' | 'host';
  /** Extra mounts (RUN --mount): binds and tmpfs. */
  binds?: BindMount[];
  tmpfs?: TmpfsMount[];
  /** Each piece of output as the command writes it. */
  output?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** The OCI runtime (default crun). */
  runtime?: string;
}

/** The command ran and exited with a status other than 0. */
export class RunFailedError extends CairnError {
  readonly status: number;
  constructor(message: string, status: number) {
    super('internal', message, { exitCode: 1 });
    this.name = 'RunFailedError';
    this.status = status;
  }
}

/**
 * Run `cmd` in a container on the root filesystem mounted at `rootfs`; resolves with the
 * command's exit status (the caller decides what a non-zero status means), rejects with the
 * runtime's failure when the command could not start.
 */
export async function runInRootfs(store: Store, rootfs: string, cmd: RunCommand): Promise<number> {
  const scratch = await store.scratchDir();
  const stubs = missingStubs(rootfs, ['/etc/resolv.conf', '/etc/hosts', ...(cmd.binds ?? []).map((b) => b.destination), ...(cmd.tmpfs ?? []).map((t) => t.destination)]);
  try {
    const files = { hosts: join(scratch.path, 'hosts'), resolvConf: join(scratch.path, 'resolv.conf') };
    writeFileSync(files.hosts, HOSTS);
    writeFileSync(files.resolvConf, existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf') : '');
    const id = `build-${randomHex(12)}`;
    const runtime = ociRuntime(join(store.root, 'runtime'), cmd.runtime ?? 'crun');
    const { spec } = buildSpec({
      id,
      image: undefined,
      rootfs,
      options: {
        entrypoint: cmd.args,
        args: [],
        ...(cmd.cwd !== '' ? { workdir: cmd.cwd } : {}),
        user: resolveUser(rootfs, cmd.user === '' ? undefined : cmd.user),
        hostname: BUILD_HOSTNAME,
        network: cmd.network,
        binds: cmd.binds ?? [],
        tmpfs: cmd.tmpfs ?? [],
        etcFiles: { hosts: files.hosts, resolvConf: files.resolvConf },
      },
      host: readHostFacts(),
      kernel: release(),
      seccomp: memoisedProfile(join(store.root, 'runtime', 'seccomp-sections')),
    });
    const built: OciSpec = { ...spec, process: { ...spec.process, env: mergeEnv([`PATH=${DEFAULT_PATH}`], cmd.env), noNewPrivileges: false } };
    const optimised = await runtime.optimise(built);
    const secured = secureSpec(optimised);
    const bundle = join(scratch.path, 'bundle');
    writeBundle(bundle, { ...optimised, mounts: secured.mounts, process: secured.process });
    const proc = runtime.run(id, bundle, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => cmd.output?.('stdout', d));
    proc.stderr?.on('data', (d: Buffer) => cmd.output?.('stderr', d));
    try {
      return await proc.wait();
    } catch (e) {
      if (e instanceof RuntimeFailure) throw new RunFailedError(e.message, e.exitCode);
      throw e;
    }
  } finally {
    removeStubs(stubs);
    await scratch.dispose();
  }
}

/** Host paths of those mount targets that do not exist yet in the root filesystem (the runtime will make them). */
function missingStubs(rootfs: string, targets: string[]): string[] {
  const missing: string[] = [];
  for (const t of targets) {
    const at = resolveInRoot(rootfs, t);
    if (at.kind === undefined) missing.push(at.hostPath);
  }
  return missing;
}

/** Remove the stubs the runtime made that are still empty (a file of no bytes, an empty directory). */
function removeStubs(paths: string[]): void {
  for (const p of paths) {
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') continue;
      throw e;
    }
    try {
      if (st.isDirectory()) rmdirSync(p);
      else if (st.size === 0) unlinkSync(p);
    } catch (e) {
      // A directory the command filled stays: it is part of the layer.
      if (errnoCode(e) !== 'ENOTEMPTY' && errnoCode(e) !== 'EEXIST') throw e;
    }
  }
}
