/** A repository's tags in its registry (`pull --all-tags`). */
import type { Reference } from '../reference/reference.js';
import { clientFor } from './transfer.js';

export async function listRemoteTags(ref: Reference, authfile?: string, insecure = false): Promise<string[]> {
  const client = clientFor(ref, { ...(authfile ? { authfile } : {}), ...(insecure ? { insecure: [ref.domain] } : {}) });
  return client.tags(ref.path);
}
