/**
 * Reading an image's stored documents (config, manifest) back from the content store.
 */
import type { Digest } from '../digest/digest.js';
import type { ContentStore } from '../content/content.js';
import { parseImageConfig, parseManifest } from '../oci/validate.js';
import type { ImageConfig, ImageManifest } from '../oci/types.js';

export async function readConfig(content: ContentStore, id: Digest): Promise<{ raw: Buffer; config: ImageConfig }> {
  const raw = await content.readBytes(id);
  return { raw, config: parseImageConfig(raw, `image config ${id}`) };
}

export async function readManifest(content: ContentStore, digest: Digest): Promise<{ raw: Buffer; manifest: ImageManifest }> {
  const raw = await content.readBytes(digest);
  return { raw, manifest: parseManifest(raw, `manifest ${digest}`) };
}
