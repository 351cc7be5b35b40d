/**
 * Where volumes live in a store, as Docker lays them out under its data root:
 *
 *   ROOT/volumes/<name>/_data             the volume's data (its Mountpoint; a mount point itself
 *                                         while a volume with driver options is in use)
 *   ROOT/volumes/<name>/users             the volume's lock file, holding the count of its users
 *   ROOT/volumes/<name>/.populate-<pid>-* a copy of an image's content being made, then renamed over _data
 *   ROOT/volumes/.tmp-<pid>-<id>          a volume being created (renamed to <name> with its record)
 *   ROOT/volumes/.trash-<pid>-<id>        a volume being removed (its record already gone)
 *
 * Work directories are named after their process and sit beside the volumes, on the same file
 * system (ROOT/volumes may be a mount of its own); a dead process's are removed by sweep.ts.
 * No volume name starts with a dot.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export function volumesDir(root: string): string {
  return join(root, 'volumes');
}

export function volumeDir(root: string, name: string): string {
  return join(root, 'volumes', name);
}

/** The volume's data directory: Docker's Mountpoint. */
export function dataDir(root: string, name: string): string {
  return join(root, 'volumes', name, '_data');
}

export function usersFile(root: string, name: string): string {
  return join(root, 'volumes', name, 'users');
}

/** A fresh work-directory name owned by this process: `.tmp-<pid>-<id>`, `.trash-<pid>-<id>`, `.populate-<pid>-<id>`. */
export function workName(kind: 'tmp' | 'trash' | 'populate'): string {
  return `.${kind}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The process that owns a work directory, or undefined for a name that is not one of kind `kind`. */
export function workOwner(name: string, kind: 'tmp' | 'trash' | 'populate'): number | undefined {
  const m = new RegExp(`^\\.${kind}-(\\d+)-[0-9a-f]+$`).exec(name);
  return m ? Number(m[1]) : undefined;
}
