/**
 * Naming and removing images, with Docker's rules:
 * - `tag SOURCE TARGET` points TARGET (a reference, `latest` by default) at SOURCE's image.
 * - `rmi NAME` by reference untags; the image itself goes when its last name goes and no
 *   child image needs it. `rmi ID` deletes; it refuses an image named in several repositories
 *   (unless forced) and one that has child images (never forced, as Docker).
 * Content no image needs any more is garbage-collected in the same step.
 */
import type { Digest } from '../digest/digest.js';
import { shortId } from '../digest/digest.js';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { childrenOf, deleteImage, deleteRepoDigest, deleteTag, getImage, imageLayers, repoDigestsOf, setTag, tagsOf } from '../metadata/records.js';
import { parseNormalizedReference, parseReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { resolveImage } from './resolve.js';
import { isImageMounted } from './mount.js';

/** Point `target` at the image `source` names. Returns the canonical target name. */
export function tagImage(store: Store, source: string, target: string): string {
  const ref = parseNormalizedReference(target);
  if (ref.digest) throw new InvalidArgumentError(`refusing to create a tag with a digest reference: ${target}`);
  const name = withDefaultTag(ref).toString();
  writeTx(store.db, () => {
    const { image } = resolveImage(store.db, source);
    setTag(store.db, name, image.id);
  });
  return name;
}

export type RemoveEvent = { untagged: string } | { deleted: Digest };

export interface RemoveOptions {
  force?: boolean;
}

/** Remove an image or one of its names; returns Docker's `Untagged:`/`Deleted:` events in order. */
export async function removeImage(store: Store, name: string, opts: RemoveOptions = {}): Promise<RemoveEvent[]> {
  const events: RemoveEvent[] = [];
  const chains: Digest[] = [];
  writeTx(store.db, () => {
    const db = store.db;
    const resolved = resolveImage(db, name);
    const id = resolved.image.id;
    const familiar = (n: string) => parseReference(n).familiarString();
    const byName = resolved.matchedName !== undefined;
    if (byName) {
      const n = resolved.matchedName!;
      const isDigestName = n.includes('@');
      if (isDigestName) deleteRepoDigest(db, n);
      else deleteTag(db, n);
      events.push({ untagged: familiar(n) });
      const remainingTags = tagsOf(db, id);
      // Docker: a digest reference left for the same repository goes with its last tag.
      if (!isDigestName) {
        const repo = parseReference(n).name;
        if (!remainingTags.some((t) => parseReference(t).name === repo)) {
          for (const d of repoDigestsOf(db, id)) {
            if (parseReference(d).name === repo) {
              deleteRepoDigest(db, d);
              events.push({ untagged: familiar(d) });
            }
          }
        }
      }
      if (tagsOf(db, id).length > 0 || repoDigestsOf(db, id).length > 0) return;
      // Last name gone: delete the image unless a child needs it (then it stays, untagged).
      if (childrenOf(db, id).length > 0) return;
    } else {
      if (childrenOf(db, id).length > 0) {
        throw new ConflictError(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`);
      }
      const tags = tagsOf(db, id);
      const repos = new Set([...tags, ...repoDigestsOf(db, id)].map((t) => parseReference(t).name));
      if (repos.size > 1 && !opts.force) {
        throw new ConflictError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
      }
      for (const t of tags) {
        deleteTag(db, t);
        events.push({ untagged: familiar(t) });
      }
      for (const d of repoDigestsOf(db, id)) {
        deleteRepoDigest(db, d);
        events.push({ untagged: familiar(d) });
      }
    }
    if (isImageMounted(db, id)) {
      throw new ConflictError(`conflict: unable to delete ${shortId(id)} - image is mounted: unmount it with \`cairn image umount\` first`);
    }
    // Delete this image, then parents that were kept only for it (untagged, no other child).
    let cur = getImage(db, id);
    while (cur) {
      const layers = imageLayers(db, cur.id);
      for (const l of layers) if (!chains.includes(l.chainId)) chains.push(l.chainId);
      const parent = cur.parent;
      deleteImage(db, cur.id);
      events.push({ deleted: cur.id });
      cur = parent ? getImage(db, parent) : undefined;
      if (cur && (tagsOf(db, cur.id).length > 0 || repoDigestsOf(db, cur.id).length > 0 || childrenOf(db, cur.id).length > 0)) break;
    }
  });
  // Docker prints the layers it released after the image, top layer first.
  if (!events.some((e) => 'deleted' in e)) return events;
  const swept = new Set((await store.gc()).snapshots);
  for (const c of [...chains].reverse()) if (swept.has(c)) events.push({ deleted: c });
  return events;
}
