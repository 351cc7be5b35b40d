/**
 * Reading an image's stored documents (config, manifest) back from the content store.
 */
import type { Digest } from '../digest/digest.js';
import type { ContentStore } from '../content/content.js';
import { parseImageConfig, parseManifest } from '../oci/validate.js';
import type { ImageConfig, ImageManifest } from '../oci/types.js';
import { unpacksHere } from '../oci/platform.js';
import { UnsupportedError } from '../errors.js';

/**
 * Configs read by this process, per content store: a blob never changes under its digest, and a
 * command such as `run` reads its image's config several times (each a file read through the
 * thread pool). The bytes are kept, never the parsed object (callers may change theirs).
 */
const configBytes = new WeakMap<ContentStore, Map<Digest, Buffer>>();

export async function readConfig(content: ContentStore, id: Digest): Promise<{ raw: Buffer; config: ImageConfig }> {
  let known = configBytes.get(content);
  if (known === undefined) configBytes.set(content, (known = new Map()));
  let raw = known.get(id);
  if (raw === undefined) {
    raw = await content.readBytes(id);
    known.set(id, raw);
  }
  return { raw: Buffer.from(raw), config: parseImageConfig(raw, `image config ${id}`) };
}

export async function readManifest(content: ContentStore, digest: Digest): Promise<{ raw: Buffer; manifest: ImageManifest }> {
  const raw = await content.readBytes(digest);
  return { raw, manifest: parseManifest(raw, `manifest ${digest}`) };
}

/**
 * Throw unless image `id`'s layers are unpacked here: an image of another OS (Windows) is
 * stored as blobs only, and whatever needs its files (mount, squash, run) refuses it.
 */
export async function requireUnpacked(content: ContentStore, id: Digest, name: string): Promise<void> {
  const { config } = await readConfig(content, id);
  if (!unpacksHere(config)) {
    throw new UnsupportedError(`image operating system ${JSON.stringify(config.os)} cannot be used on this platform: ${name} is stored, not unpacked`);
  }
}
