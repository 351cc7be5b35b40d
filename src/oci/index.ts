/**
 * cairn's OCI model: media types, the image-spec document types, validation on the way in,
 * chainIDs, platforms and the canonical JSON writer. Pure: no I/O.
 */
export * from './mediatypes.js';
export * from './types.js';
export {
  parseManifest,
  parseIndex,
  parseManifestOrIndex,
  parseImageConfig,
  parseDescriptor,
  parsePlatformObject,
  parseOciLayout,
  checkManifestConfig,
} from './validate.js';
export { chainId, chainIds, childChainId } from './chainid.js';
export { platformString, parsePlatform, normalizePlatform, platformFromNode, hostPlatform, matchPlatform, selectManifest } from './platform.js';
export { canonicalJson, sortedRecord } from './json.js';
export * from './mutate.js';
