/**
 * Finding an image from what a user typed, as Docker does: a full image ID (`sha256:<hex>`),
 * a reference (`busybox`, `busybox:1.36`, `host:5000/app@sha256:...`), or a unique prefix of an
 * image ID (`aaef1ff7`). Unknown names fail with Docker's `No such image: NAME`, names that
 * are neither a reference nor an ID prefix with `invalid reference format: ...`.
 */
import { type Digest, isDigest } from '../digest/digest.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { Db } from '../metadata/db.js';
import { type ImageRecord, findImagesByIdPrefix, getImage, getRepoDigest, getTag, namesInRepository } from '../metadata/records.js';
import { type Reference, dockerReferenceError, parseNormalizedReference, withDefaultTag } from '../reference/reference.js';

export interface Resolved {
  image: ImageRecord;
  /** The reference the user named, when they named one (not an ID). */
  ref?: Reference;
  /** The canonical tag or digest name that matched, when resolved by reference. */
  matchedName?: string;
}

const HEX_PREFIX = /^[a-f0-9]{1,64}$/;

/** How the image commands that speak exactly as Docker 20.10's daemon word a failure. */
export interface ResolveWording {
  /** A reference that does not parse in Docker 20.10's words (ReferenceFormatError.docker20). */
  docker20?: boolean;
  /** A missing name without tag or digest said with `:latest`, as the daemon's GetImage says it (history, tag). */
  missingAsTagged?: boolean;
}

export function resolveImage(db: Db, input: string, wording: ResolveWording = {}): Resolved {
  const hex = input.startsWith('sha256:') ? input.slice(7) : input;
  const idLike = HEX_PREFIX.test(hex);
  if (wording.docker20 && !idLike) checkDocker20(input);
  const r = tryResolveImage(db, input);
  if (r) return r;
  // A name that is neither a reference nor an ID prefix: say so (as Docker), not "No such image".
  if (!idLike) parseNormalizedReference(input);
  if (wording.missingAsTagged && !input.startsWith('sha256:')) {
    // the daemon's ErrImageDoesNotExist: an ID as a digest, a name with its default tag
    if (/^[a-f0-9]{64}$/.test(input)) throw new NotFoundError(`No such image: sha256:${input}`);
    throw new NotFoundError(`No such image: ${withDefaultTag(parseNormalizedReference(input)).familiarString()}`);
  }
  throw new NotFoundError(`No such image: ${input}`);
}

/** A name Docker 20.10 does not take as a reference: refused in its words (reference.dockerReferenceError). */
function checkDocker20(input: string): void {
  // ParseNormalizedNamed(""): "library/" added, then no match
  const problem = input === '' ? 'invalid reference format' : dockerReferenceError(input);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
}

export function tryResolveImage(db: Db, input: string): Resolved | undefined {
  if (input.startsWith('sha256:') && isDigest(input)) {
    const image = getImage(db, input as Digest);
    return image ? { image } : undefined;
  }
  let ref: Reference | undefined;
  try {
    ref = parseNormalizedReference(input);
  } catch (e) {
    // Not a reference: it may still be an ID prefix (e.g. `sha256:abc` or a 64-hex ID).
    if (!(e instanceof InvalidArgumentError)) throw e;
  }
  if (ref) {
    const full = withDefaultTag(ref);
    if (full.digest) {
      const name = `${full.name}@${full.digest}`;
      const id = getRepoDigest(db, name);
      if (id) return { image: getImage(db, id)!, ref: full, matchedName: name };
    } else {
      const name = full.toString();
      const t = getTag(db, name);
      if (t) return { image: getImage(db, t.imageId)!, ref: full, matchedName: name };
    }
  }
  const hex = input.startsWith('sha256:') ? input.slice(7) : input;
  if (HEX_PREFIX.test(hex)) {
    const found = findImagesByIdPrefix(db, hex);
    if (found.length === 1) return { image: found[0]! };
    if (found.length > 1) throw new InvalidArgumentError(`image ID prefix ${JSON.stringify(input)} is ambiguous: it matches more than one image`);
  }
  return undefined;
}

/** An image `save` writes, with the tags it carries into the archive. */
export interface SaveSelection {
  image: ImageRecord;
  /** Canonical tag names (`docker.io/library/busybox:1`), sorted. */
  tags: string[];
}

/**
 * What `save NAME` writes, as Docker's save reads its names (tarexport.parseNames): an image
 * ID (64 hex digits, `sha256:…`, or a unique prefix) carries no tag; `REPO:TAG` its one tag and
 * `REPO@DIGEST` none ("reference does not exist" when the store lacks it); a bare `REPO` every
 * image of the repository with every tag it has there — or, when the repository has no name
 * here, the image whose ID starts so.
 */
export function resolveForSave(db: Db, input: string): SaveSelection[] {
  if (/^[a-f0-9]{64}$/.test(input) || (input.startsWith('sha256:') && isDigest(input))) {
    const image = getImage(db, (input.startsWith('sha256:') ? input : `sha256:${input}`) as Digest);
    if (!image) throw new NotFoundError(`No such image: ${input}`);
    return [{ image, tags: [] }];
  }
  checkDocker20(input);
  const ref = parseNormalizedReference(input);
  const byId = (): SaveSelection[] => {
    const hex = input.startsWith('sha256:') ? input.slice(7) : input;
    const found = HEX_PREFIX.test(hex) ? findImagesByIdPrefix(db, hex) : [];
    if (found.length > 1) throw new InvalidArgumentError(`image ID prefix ${JSON.stringify(input)} is ambiguous: it matches more than one image`);
    if (found.length === 0) throw new NotFoundError(`No such image: ${input}`);
    return [{ image: found[0]!, tags: [] }];
  };
  if (ref.familiarName === 'sha256') return byId();
  if (ref.tag === undefined && ref.digest === undefined) {
    const names = namesInRepository(db, ref.name);
    if (names.length === 0) return byId();
    const out = new Map<Digest, SaveSelection>();
    for (const n of names) {
      const sel = out.get(n.imageId) ?? { image: getImage(db, n.imageId)!, tags: [] };
      out.set(n.imageId, sel);
      if (!n.name.includes('@')) sel.tags.push(n.name);
    }
    return [...out.values()];
  }
  const name = ref.digest ? `${ref.name}@${ref.digest}` : ref.toString();
  const id = ref.digest ? getRepoDigest(db, name) : getTag(db, name)?.imageId;
  const image = id === undefined ? undefined : getImage(db, id);
  if (!image) throw new NotFoundError('reference does not exist');
  return [{ image, tags: ref.digest ? [] : [name] }];
}
