/**
 * The images of a pre-1.10 docker-archive: no manifest.json; one directory per image, named by
 * its v1 ID, holding `json` (the v1 image JSON), `layer.tar` and `VERSION`; tags in
 * `repositories` ({"name": {"tag": "<v1 id>"}}). Read as Docker 20.10's legacy load reads it
 * (moby image/tarexport legacyLoad, legacyLoadImage): every top-level directory is an image,
 * taken in name order, each parent before its child; an image's layers are its parent's plus
 * its own `layer.tar`, its history its parent's plus the entry its JSON makes, its config the
 * one Docker makes from the JSON (oci/v1-image.ts), so its ID is Docker's; the parent is kept
 * (Docker's hidden intermediate images). Docker says no "Loaded image" line for these.
 * Unlike Docker, which loads the images and then fails on a missing or bad `repositories`,
 * such an archive is refused whole (a load records all or nothing).
 */
import { type Digest, digestOf } from '../digest/digest.js';
import { DataCorruptError } from '../errors.js';
import { buildManifest, configMediaType, familyFor, layerMediaType, type LayerDescriptor } from '../oci/mutate.js';
import type { HistoryEntry } from '../oci/types.js';
import { checkV1ImageOs, configFromV1Image, parseV1Image } from '../oci/v1-image.js';
import { parseImageConfig } from '../oci/validate.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { ReceivedBlob, SourceImage } from '../transfer/types.js';

/** What the archive source knows of its members. */
export interface LegacyMembers {
  /** The archive's top-level directories. */
  dirs: ReadonlySet<string>;
  /** A JSON document of the archive, or undefined when it has no such member. */
  document(path: string): Buffer | undefined;
  /** A member handed to the sink as a layer (it must be there). */
  blob(path: string, what: string): ReceivedBlob;
}

/** A legacy image as loaded: the image, and the v1 ID it came from. */
export interface LegacyImage {
  image: SourceImage;
  v1Id: string;
  /** The archive member of its own layer. */
  layerPath: string;
}

interface Chain {
  id: Digest;
  diffIds: Digest[];
  history: HistoryEntry[];
  blobs: ReceivedBlob[];
}

/** Every image of a legacy archive, parents first, in Docker's order (see the module comment). */
export function legacyImages(members: LegacyMembers): LegacyImage[] {
  const byV1 = new Map<string, { chain: Chain; img: LegacyImage }>();
  const visiting = new Set<string>();
  const out: LegacyImage[] = [];
  const load = (v1Id: string, child?: string): Chain => {
    const done = byV1.get(v1Id);
    if (done) return done.chain;
    if (visiting.has(v1Id)) throw new DataCorruptError(`legacy image archive: image ${v1Id} is its own ancestor`);
    visiting.add(v1Id);
    const jsonPath = `${v1Id}/json`;
    const raw = members.document(jsonPath);
    if (raw === undefined) {
      throw new DataCorruptError(child === undefined ? `legacy image archive: directory ${JSON.stringify(v1Id)} has no json file` : `legacy image archive: the parent ${v1Id} of image ${child} is missing from the archive`);
    }
    const v1 = parseV1Image(raw, `legacy image archive: ${jsonPath}`);
    checkV1ImageOs(v1.os);
    const parent = v1.parent !== '' ? load(v1.parent, v1Id) : undefined;
    const layerPath = `${v1Id}/layer.tar`;
    const blob = members.blob(layerPath, `legacy image archive: ${v1Id}`);
    const chain: Chain = {
      id: '' as Digest,
      diffIds: [...(parent?.diffIds ?? []), blob.diffId],
      history: [...(parent?.history ?? []), v1.history],
      blobs: [...(parent?.blobs ?? []), blob],
    };
    const configRaw = configFromV1Image(v1, chain.diffIds, chain.history);
    chain.id = digestOf(configRaw);
    const config = parseImageConfig(configRaw, `legacy image archive: ${v1Id}: image config`);
    const family = familyFor(chain.blobs.map((b) => b.compression), 'docker');
    const layers: LayerDescriptor[] = chain.blobs.map((b) => ({ mediaType: layerMediaType(b.compression, family), digest: b.digest, size: b.size, diffId: b.diffId, uncompressedSize: b.uncompressedSize }));
    const cmt = configMediaType(family);
    const built = buildManifest(family, { raw: configRaw, mediaType: cmt }, layers);
    const image: SourceImage = {
      manifest: { raw: built.raw, digest: built.digest, mediaType: built.manifest.mediaType!, parsed: built.manifest },
      config: { raw: configRaw, digest: chain.id, mediaType: cmt, parsed: config },
      layers,
      names: [],
      ...(parent ? { parent: parent.id } : {}),
    };
    const img: LegacyImage = { image, v1Id, layerPath };
    byV1.set(v1Id, { chain, img });
    visiting.delete(v1Id);
    out.push(img);
    return chain;
  };
  const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  for (const dir of [...members.dirs].sort(byBytes)) load(dir);

  const reposRaw = members.document('repositories');
  if (reposRaw === undefined) throw new DataCorruptError('legacy image archive (no manifest.json): it has no repositories file');
  for (const [name, tags] of parseRepositories(reposRaw)) {
    for (const [tag, v1Id] of tags) {
      const target = byV1.get(v1Id);
      if (target === undefined) throw new DataCorruptError(`legacy image archive: repositories: invalid target ID: ${v1Id}`);
      target.img.image.names.push(tagName(name, tag));
    }
  }
  for (const { image } of out) image.names.sort();
  return out;
}

/** `repositories` as Go decodes it into map[string]map[string]string (a later duplicate key wins). */
function parseRepositories(raw: Buffer): Map<string, Map<string, string>> {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new DataCorruptError(`legacy image archive: repositories: invalid JSON: ${(e as Error).message}`);
  }
  const out = new Map<string, Map<string, string>>();
  if (v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) throw new DataCorruptError('legacy image archive: repositories: expected an object of repositories');
  for (const [name, tags] of Object.entries(v as Record<string, unknown>)) {
    const m = new Map<string, string>();
    if (tags !== null) {
      if (typeof tags !== 'object' || Array.isArray(tags)) throw new DataCorruptError(`legacy image archive: repositories: ${JSON.stringify(name)}: expected an object of tags`);
      for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) {
        if (typeof id !== 'string') throw new DataCorruptError(`legacy image archive: repositories: ${JSON.stringify(name)}: tag ${JSON.stringify(tag)}: expected an image ID string`);
        m.set(tag, id);
      }
    }
    out.set(name, m);
  }
  return out;
}

/** `name` with `tag`, as reference.ParseNormalizedNamed and WithTag make it (canonical). */
function tagName(name: string, tag: string): string {
  let ref;
  try {
    ref = parseNormalizedReference(name);
  } catch (e) {
    throw new DataCorruptError(`legacy image archive: repositories: invalid repository name ${JSON.stringify(name)}: ${(e as Error).message}`);
  }
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new DataCorruptError(`legacy image archive: repositories: invalid tag ${JSON.stringify(tag)} for ${name}`);
  if (ref.digest) throw new DataCorruptError(`legacy image archive: repositories: ${JSON.stringify(name)} is a digest reference`);
  return withDefaultTag(parseNormalizedReference(`${ref.name}:${tag}`)).toString();
}
