/**
 * Where a container's files are, outside its layers: `ROOT/containers/<id>/` holds the OCI
 * bundle (`config.json`), the mount point of its root filesystem (`rootfs`), the /etc files
 * given to it (`hosts`, `hostname`, `resolv.conf`), its log (`ctr.log`) and conmon's exit
 * directory (`exit/`). The OCI runtime keeps its own state under `ROOT/runtime/<runtime>`.
 * Made when the container is created, removed with it.
 */
import { join } from 'node:path';

export interface ContainerFiles {
  dir: string;
  bundle: string;
  rootfs: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  log: string;
  exitDir: string;
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
  };
}

/** The OCI runtimes' state directory of a store. */
export function runtimeStateDir(root: string): string {
  return join(root, 'runtime');
}
