/**
 * Content a step's layer adds again: regular files of the step's writable layer whose bytes are
 * those of the same path in the layers below — what `RUN chown -R` or `chmod -R` does, copying
 * every file up only to change its owner or mode, so the image holds its bytes twice. The
 * builder warns when this is large (no builder does; users find it in `docker history` later).
 *
 * Overlay only: the upper directory is the layer, the lower directories the layers below
 * (topmost first). A file counts when the topmost lower entry at its path is a regular file of
 * the same size and the same bytes (compared by sha256 on libuv's pool, never read into
 * JavaScript); directories marked opaque and whiteouts hide what is below them.
 */
import { closeSync, lstatSync, openSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { hashDigest, hashFile, hashNew, lgetxattr } from '../native/index.js';

export interface Duplicated {
  files: number;
  bytes: number;
}

/** How many file pairs are hashed at once. */
const HASHING = 4;

/** What the upper directory `upper` re-adds unchanged from `lowers` (see the module comment). */
export async function duplicatedContent(upper: string, lowers: readonly string[]): Promise<Duplicated> {
  const candidates: Array<{ path: string; lower: string; size: number }> = [];
  walk(upper, '', lowers, candidates);
  const found: Duplicated = { files: 0, bytes: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length) {
      const c = candidates[next++]!;
      const [a, b] = await Promise.all([sha256(join(upper, c.path), c.size), sha256(c.lower, c.size)]);
      if (a !== undefined && a === b) {
        found.files++;
        found.bytes += c.size;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASHING, candidates.length) }, worker));
  return found;
}

function walk(upper: string, rel: string, lowers: readonly string[], out: Array<{ path: string; lower: string; size: number }>): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(upper, rel), { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  for (const d of entries) {
    const path = rel === '' ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory()) {
      // Below an opaque directory nothing of the lower layers shows.
      if (isOpaque(join(upper, path))) continue;
      walk(upper, path, lowers, out);
    } else if (d.isFile()) {
      const size = lstatSync(join(upper, path)).size;
      if (size === 0) continue;
      const lower = topmostLower(lowers, path);
      if (lower !== undefined && lower.size === size) out.push({ path, lower: lower.path, size });
    }
  }
}

/** The entry at `path` in the topmost lower directory that has one, when it is a regular file. */
function topmostLower(lowers: readonly string[], path: string): { path: string; size: number } | undefined {
  for (const dir of lowers) {
    const at = join(dir, path);
    let st;
    try {
      st = lstatSync(at);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') continue;
      throw e;
    }
    return st.isFile() ? { path: at, size: st.size } : undefined;
  }
  return undefined;
}

function isOpaque(dir: string): boolean {
  const v = lgetxattr(dir, 'trusted.overlay.opaque');
  return v !== null && v.length > 0 && v[0] === 0x79;
}

async function sha256(path: string, size: number): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = hashNew('sha256');
    await hashFile(h, fd, 0, size);
    return hashDigest(h);
  } finally {
    closeSync(fd);
  }
}
