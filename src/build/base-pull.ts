/**
 * A base image (`FROM reg/x:1`, `COPY --from=reg/y:1`, `RUN --mount=from=reg/z:1`) the store
 * does not have is pulled through the registry client, as BuildKit resolves it: inside the
 * `[internal] load metadata for REF` vertex, which shows each layer as it arrives
 * (`sha256:0123456789ab 772.79kB / 772.79kB done`: plain and short, not BuildKit's byte-by-byte
 * bars). With `--pull` the registry is asked even when the store has the image, so a newer one
 * under the same tag replaces it (BuildKit's ResolveModeForcePull).
 *
 * A registry that does not have the image fails the build with BuildKit's one line,
 * `failed to solve with frontend dockerfile.v0: failed to create LLB definition: REF: not found`
 * (Docker 20.10, /work/shared/reference/docker-20.10/build.txt), printed bare; other registry
 * failures keep their own message after the same prefix.
 */
import { CairnError } from '../errors.js';
import { tryResolveImage } from '../image/resolve.js';
import { pullImage, type RegistryAccess } from '../registry/transfer.js';
import type { Store } from '../store/store.js';
import type { CopyProgress } from '../transfer/types.js';
import type { VertexHandle } from './progress.js';

/** BuildKit's prefix of an error found while the frontend makes the build graph. */
export const LLB_DEFINITION_PREFIX = 'failed to solve with frontend dockerfile.v0: failed to create LLB definition: ';

/** A base image could not be had: BuildKit's one line, bare, with the failed vertex's box. */
export class BaseImageError extends CairnError {
  /** What the vertex's ERROR line says (`REF: not found`). */
  readonly detail: string;
  /** BuildKit's box naming the failed vertex. */
  readonly box: string;
  constructor(detail: string, vertex: string, options: { notFound: boolean; cause?: unknown }) {
    super(options.notFound ? 'not-found' : 'registry', `${LLB_DEFINITION_PREFIX}${detail}`, { bare: true, exitCode: 1, ...(options.cause !== undefined ? { cause: options.cause } : {}) });
    this.name = 'BaseImageError';
    this.detail = detail;
    this.box = `------\n > ${vertex}:\n------\n`;
  }
}

export interface EnsureBaseOptions {
  /** `--pull`: ask the registry even when the store has the image. */
  pull: boolean;
  /** The `[internal] load metadata for REF` vertex, and its name. */
  vertex: VertexHandle;
  vertexName: string;
  /** Credentials and insecure registries (default: cairn's configuration). */
  access?: RegistryAccess;
}

/**
 * Make sure the store has `ref` (a normalized reference): nothing to do when it has it (unless
 * `pull`), else pulled. Throws BaseImageError when the registry does not have it or fails.
 */
export async function ensureBaseImage(store: Store, ref: string, opts: EnsureBaseOptions): Promise<void> {
  if (!opts.pull && tryResolveImage(store.db, ref) !== undefined) return;
  try {
    await pullImage(store, ref, { ...(opts.access ?? {}), progress: vertexProgress(opts.vertex) });
  } catch (e) {
    if (!(e instanceof CairnError)) throw e;
    const notFound = e.code === 'not-found';
    throw new BaseImageError(notFound ? `${ref}: not found` : e.message.split('\n')[0]!, opts.vertexName, { notFound, cause: e });
  }
}

/** Layer progress as status lines of the vertex: one when a layer is complete (or already here). */
function vertexProgress(v: VertexHandle): CopyProgress {
  const totals = new Map<string, number>();
  return {
    start: (id, _label, total) => {
      totals.set(id, total ?? 0);
    },
    update: () => undefined,
    finish: (id) => {
      const total = humanBytes(totals.get(id) ?? 0);
      v.status(`sha256:${id} ${total} / ${total} done`);
    },
    status: (id, message) => {
      if (message === 'Already exists') v.status(`sha256:${id} already exists`);
    },
  };
}

/** Sizes as BuildKit's progress writes them (go-units HumanSize: decimal units, 2 decimals). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n}B` : `${Number(v.toFixed(2))}${units[i]}`;
}
