/**
 * Where a container's files are, outside its layers: `ROOT/containers/<id>/` holds the OCI
 * bundle (`config.json`), the mount point of its root filesystem (`rootfs`), the /etc files
 * given to it (`hosts`, `hostname`, `resolv.conf`), its log (`ctr.log`) and conmon's exit
 * directory (`exit/`) and its other files (`conmon/`). The OCI runtime keeps its own state under `ROOT/runtime/<runtime>`.
 * Made when the container is created, removed with it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../errors.js';

export interface ContainerFiles {
  dir: string;
  bundle: string;
  rootfs: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  log: string;
  exitDir: string;
  /** conmon's files for the container (exit, oom, pid files). */
  persistDir: string;
}

export function containerFiles(root: string, id: string): ContainerFiles {
  const dir = join(root, 'containers', id);
  return {
    dir,
    bundle: dir,
    rootfs: join(dir, 'rootfs'),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
    log: join(dir, 'ctr.log'),
    exitDir: join(dir, 'exit'),
    persistDir: join(dir, 'conmon'),
  };
}

/** The OCI runtimes' state directory of a store. */
export function runtimeStateDir(root: string): string {
  return join(root, 'runtime');
}

let cli: string | undefined;

/**
 * The argv that runs this cairn's command line (node and bin/cairn.js, found above this
 * module: from dist/src/container or from the bundle in dist/), for commands a monitor runs
 * later, such as conmon's exit command.
 */
export function cairnCommand(): string[] {
  if (cli === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (;;) {
      const candidate = join(dir, 'bin', 'cairn.js');
      if (existsSync(candidate)) {
        cli = candidate;
        break;
      }
      const up = dirname(dir);
      if (up === dir) throw new NotFoundError(`cannot find bin/cairn.js above ${fileURLToPath(import.meta.url)}`);
      dir = up;
    }
  }
  return [process.execPath, cli];
}
