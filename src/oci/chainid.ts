/**
 * ChainIDs: the names of layer stacks. Per the OCI image-spec (config.md, "Layer ChainID"):
 * ChainID(L0) = DiffID(L0) and ChainID(L0|...|Ln) = sha256(ChainID(L0|...|Ln-1) + " " + DiffID(Ln)),
 * hashing the two digest strings joined by one space. Snapshots are named by chainID, so two
 * images sharing a base share its snapshots.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { Digest } from '../digest/digest.js';

/** The chainID of every prefix of the stack: result[i] names layers 0..i. */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : (`sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}` as Digest));
  }
  return out;
}

/** The chainID of the whole stack; a stack of no layers has none (InvalidArgumentError). */
export function chainId(diffIds: readonly Digest[]): Digest {
  const ids = chainIds(diffIds);
  const last = ids[ids.length - 1];
  if (last === undefined) throw new InvalidArgumentError('chain ID of an empty layer list: there is no layer to name');
  return last;
}

/** The chainID of layer `diffId` stacked on the layers whose chainID is `parent` (undefined: a base layer). */
export function childChainId(parent: Digest | undefined, diffId: Digest): Digest {
  return parent === undefined ? diffId : (`sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}` as Digest);
}
