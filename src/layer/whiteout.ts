/**
 * Whiteouts: how a layer says "this name from a lower layer is gone".
 *
 * This module owns the two on-disk vocabularies and the mapping between them:
 * - OCI/AUFS form inside a layer tar: an empty entry `DIR/.wh.NAME` deletes NAME, and
 *   `DIR/.wh..wh..opq` makes DIR opaque (everything below DIR from lower layers is
 *   hidden). Other `.wh..wh.*` names are AUFS bookkeeping (`.wh..wh.plnk`, ...) and are
 *   ignored, as Docker and containerd do.
 * - overlayfs form in an upper directory: a character device 0:0 named NAME, and the
 *   `trusted.overlay.opaque` = "y" extended attribute on an opaque directory.
 * Pure functions and constants; no I/O.
 */

/** Prefix of a whiteout entry's last component. */
export const WHITEOUT_PREFIX = '.wh.';
/** Last component of an opaque-directory marker. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
/** Prefix of AUFS metadata entries (hard-link directory etc.), never real files. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';

/** overlayfs' opaque-directory attribute (root-mounted overlays). */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Its value. */
export const OVERLAY_OPAQUE_VALUE: Buffer = Buffer.from('y');

/** What the last component of a layer entry means. */
export type WhiteoutKind =
  | { kind: 'whiteout'; /** the hidden name (one component, raw bytes as latin1) */ target: string }
  | { kind: 'opaque' }
  | { kind: 'meta' };

/**
 * Classify a last component (given as a latin1 key of its bytes). Returns null for an
 * ordinary name. A whiteout's target may be '', '.' or '..': the caller must refuse those.
 */
export function classifyWhiteout(baseKey: string): WhiteoutKind | null {
  if (!baseKey.startsWith(WHITEOUT_PREFIX)) return null;
  if (baseKey === WHITEOUT_OPAQUE) return { kind: 'opaque' };
  if (baseKey.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  return { kind: 'whiteout', target: baseKey.slice(WHITEOUT_PREFIX.length) };
}

/**
 * Extended attributes a layer may not set: overlayfs keeps its own state in
 * `trusted.overlay.*` (and `user.overlay.*` for unprivileged mounts): opaque, redirect,
 * origin, metacopy. Taking them from an untrusted layer would let it rewrite what a
 * merged mount shows, so the applier drops them (as umoci masks them).
 */
export function isReservedXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}
