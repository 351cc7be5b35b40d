/**
 * Naming and removing images, with Docker's rules:
 * - `tag SOURCE TARGET` points TARGET (a reference, `latest` by default) at SOURCE's image.
 * - `rmi NAME` by reference untags; the image itself goes when its last name goes and no
 *   child image needs it. `rmi ID` deletes; it refuses an image named in several repositories
 *   (unless forced) and one that has child images (never forced, as Docker).
 * - Containers (`usedBy`): the last name of an image a container uses goes only when forced
 *   (else "unable to remove repository reference"); the image itself is then kept (untagged)
 *   while a running container uses it, and deleted when only stopped ones do — they keep
 *   their layers. Deleting by ID: a running user refuses it ("cannot be forced"), a stopped
 *   one unless forced.
 * - Parents (Docker's hidden intermediate images, image.parent): deleting an image deletes the
 *   untagged parents it was kept for, up to the first one still needed (`--no-prune`: none).
 * Content no image needs any more is garbage-collected in the same step; each image's released
 * layers are said after it, top first, as Docker says them.
 */
import type { Digest } from '../digest/digest.js';
import { shortId } from '../digest/digest.js';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { beginCollection, childrenOf, deleteImage, deleteRepoDigest, deleteTag, getImage, imageLayers, layerInUse, repoDigestsOf, setTag, tagsOf } from '../metadata/records.js';
import { parseNormalizedReference, parseReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { docker20ReferenceProblem, resolveImage } from './resolve.js';
import { isImageMounted } from './mount.js';

/**
 * Point `target` at the image `source` names, as Docker 20.10 does (client, then daemon):
 * both names parsed in its words, a digest target refused, the source found (a missing name
 * said with `:latest`), a target named `sha256` refused. Returns the canonical target name.
 */
export function tagImage(store: Store, source: string, target: string): string {
  const problem = tagNamesProblem(source, target);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  const ref = parseNormalizedReference(target);
  const name = withDefaultTag(ref).toString();
  writeTx(store.db, () => {
    const { image } = resolveImage(store.db, source, { docker20: true, missingAsTagged: true });
    if (ref.familiarName === 'sha256') throw new InvalidArgumentError('refusing to create an ambiguous tag using digest algorithm as name');
    setTag(store.db, name, image.id);
  });
  return name;
}

/**
 * What Docker's CLI (its client's ImageTag) refuses in `tag SOURCE TARGET` before it asks the
 * daemon: a name that does not parse (`Error parsing reference: "X" is not a valid
 * repository/tag: ...`), a digest target. Undefined when both pass.
 */
export function tagNamesProblem(source: string, target: string): string | undefined {
  // the source may be an ID (ParseAnyReference); the target must be a name
  const idSource = /^([a-f0-9]{64}|sha256:[a-f0-9]{64})$/.test(source);
  for (const [n, problem] of [[source, idSource ? undefined : docker20ReferenceProblem(source)], [target, docker20ReferenceProblem(target)]] as const) {
    if (problem !== undefined) return `Error parsing reference: ${JSON.stringify(n)} is not a valid repository/tag: ${problem}`;
  }
  if (parseNormalizedReference(target).digest !== undefined) return 'refusing to create a tag with a digest reference';
  return undefined;
}

export type RemoveEvent = { untagged: string } | { deleted: Digest };

/** A container using an image (for rmi's conflicts). */
export interface ImageUser {
  id: string;
  running: boolean;
}

export interface RemoveOptions {
  force?: boolean;
  /** Delete the untagged parents an image was kept for (default; `rmi --no-prune`: false). */
  prune?: boolean;
  /** The containers using an image (by image ID); none when not given. */
  usedBy?: (imageId: Digest) => ImageUser[];
}

/** Docker's isSingleReference: one tag (with any digests of its repository), or digests of one repository. */
function isSingleReference(refs: readonly string[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const canonical = new Set<string>();
  let single: string | undefined;
  for (const r of refs) {
    if (r.includes('@')) canonical.add(parseReference(r).name);
    else if (single === undefined) single = r;
    else return false;
  }
  return canonical.size === 1 && canonical.has(parseReference(single ?? refs[0]!).name);
}

/** Remove an image or one of its names; returns Docker's `Untagged:`/`Deleted:` events in order. */
export async function removeImage(store: Store, name: string, opts: RemoveOptions = {}): Promise<RemoveEvent[]> {
  return (await removeImageMeasured(store, name, opts)).events;
}

/**
 * {@link removeImage}, also saying how many bytes of disk the collection that followed gave
 * back (`reclaimed`: measured by the collector; 0 when nothing was deleted) — image prune's total.
 */
export async function removeImageMeasured(store: Store, name: string, opts: RemoveOptions & { measure?: boolean } = {}): Promise<{ events: RemoveEvent[]; reclaimed: number }> {
  const events: RemoveEvent[] = [];
  // Per deleted image, the layers no remaining image uses any more (top first): Docker says
  // each image's released layers right after it.
  const released = new Map<Digest, Digest[]>();
  writeTx(store.db, () => {
    const db = store.db;
    const resolved = resolveImage(db, name, { docker20: true });
    const id = resolved.image.id;
    const familiar = (n: string) => parseReference(n).familiarString();
    const byName = resolved.matchedName !== undefined;
    const users = opts.usedBy?.(id) ?? [];
    if (byName) {
      const n = resolved.matchedName!;
      if (!opts.force && users.length > 0 && isSingleReference([...tagsOf(db, id), ...repoDigestsOf(db, id)])) {
        throw new ConflictError(`conflict: unable to remove repository reference "${name}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${shortId(id)}`);
      }
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
      // Last name gone: delete the image unless a child or a running container needs it (then it stays, untagged).
      if (childrenOf(db, id).length > 0) return;
      if (users.some((u) => u.running) || (!opts.force && users.length > 0)) return;
    } else {
      if (childrenOf(db, id).length > 0) {
        throw new ConflictError(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`);
      }
      const running = users.find((u) => u.running);
      if (running !== undefined) throw new ConflictError(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
      if (users.length > 0 && !opts.force) throw new ConflictError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${users[0]!.id.slice(0, 12)}`);
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
    // Delete this image, then (unless told not to prune) parents that were kept only for it:
    // untagged, no other child, no container or mount using them — Docker stops at the first
    // that is not so, quietly.
    let cur = getImage(db, id);
    while (cur) {
      const layers = imageLayers(db, cur.id);
      const parent = cur.parent;
      deleteImage(db, cur.id);
      released.set(cur.id, layers.map((l) => l.chainId).reverse().filter((c) => !layerInUse(db, c)));
      events.push({ deleted: cur.id });
      cur = parent && opts.prune !== false ? getImage(db, parent) : undefined;
      if (cur && (tagsOf(db, cur.id).length > 0 || repoDigestsOf(db, cur.id).length > 0 || childrenOf(db, cur.id).length > 0)) break;
      if (cur && ((opts.usedBy?.(cur.id) ?? []).length > 0 || isImageMounted(db, cur.id))) break;
    }
    // with the deletion, the collection it owes: a kill before that collection ends leaves the
    // mark, and the next process to open the store collects (else its content stays, unused)
    if (released.size > 0) beginCollection(db, process.pid);
  });
  // Docker prints the layers each image released right after it, top layer first.
  if (released.size === 0) return { events, reclaimed: 0 };
  const collected = await store.gc({ measure: opts.measure === true });
  const swept = new Set(collected.snapshots);
  return {
    events: events.flatMap((e): RemoveEvent[] => ('deleted' in e ? [e, ...(released.get(e.deleted) ?? []).filter((c) => swept.has(c)).map((c) => ({ deleted: c }))] : [e])),
    reclaimed: collected.reclaimed,
  };
}
