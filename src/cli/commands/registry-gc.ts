/**
 * `cairn registry gc [--delete-untagged]`: the served repositories let go of what no manifest
 * needs; a line per manifest deleted, per link dropped and per blob removed from the store.
 */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ deleteUntagged?: boolean }>();
  await withCairn(program, async (cairn) => {
    const r = await cairn.registryGc({ ...(o.deleteUntagged ? { deleteUntagged: true } : {}) });
    for (const m of r.manifests) out(`Deleted manifest: ${m}\n`);
    for (const l of r.links) out(`Unlinked blob: ${l}\n`);
    for (const b of r.blobs) out(`Deleted: ${b}\n`);
  });
}
