/**
 * The bytes of the files a layer's tar leaves in its layer, as Docker 20.10 counts a layer
 * (overlay2's DiffSize: pkg/directory.Size of the layer's own directory): each regular file by
 * its size, each symlink by the length of its target, nothing for directories, devices, FIFOs,
 * whiteouts and opaque markers, a hard link nothing more (its inode is counted once). An entry
 * that comes again replaces the earlier one, and a directory replaced by anything else takes
 * what lay below it with it, as applying the tar does. A whiteout hides only lower layers'
 * files, never this layer's (layer/apply.ts), so it changes nothing here.
 */
import { readTar, type ByteInput } from '../tar/index.js';
import { safePath } from './pathsafe.js';
import { classifyWhiteout } from './whiteout.js';

/** Docker's size of the layer whose (uncompressed) tar is `tar`. */
export async function tarFilesSize(tar: ByteInput, what = 'layer'): Promise<number> {
  const bytes = new Map<string, number>();
  /** Directories the tar made, whose entries a later non-directory at their path removes. */
  const dirs = new Set<string>();
  for await (const entry of readTar(tar)) {
    const h = entry.header;
    const p = safePath(h.nameBytes ?? Buffer.from(h.name, 'utf8'), what, h.name);
    if (p.key === '' || classifyWhiteout(p.baseKey) !== null) continue;
    if (h.type === 'dir') {
      bytes.delete(p.key);
      dirs.add(p.key);
      continue;
    }
    if (dirs.delete(p.key)) {
      const below = `${p.key}/`;
      for (const k of bytes.keys()) if (k.startsWith(below)) bytes.delete(k);
      for (const k of dirs) if (k.startsWith(below)) dirs.delete(k);
    }
    const size = h.type === 'file' ? h.size : h.type === 'symlink' ? (h.linknameBytes ?? Buffer.from(h.linkname, 'utf8')).length : 0;
    bytes.set(p.key, size);
  }
  let total = 0;
  for (const n of bytes.values()) total += n;
  return total;
}
