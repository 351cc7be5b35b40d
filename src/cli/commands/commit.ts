/** `cairn commit [-a] [-m] [-c]... [-p] CONTAINER [REPOSITORY[:TAG]]`: a new image of the container's changes; its ID printed. */
import type { Command } from 'commander';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, ref: string, tag?: string): Promise<void> {
  const o = cmd.opts<{ author?: string; message?: string; change: string[]; pause: string }>();
  await withCairn(program, async (cairn) => {
    const r = await cairn.commitContainer(ref, {
      ...(o.author !== undefined ? { author: o.author } : {}),
      ...(o.message !== undefined ? { message: o.message } : {}),
      changes: o.change,
      pause: o.pause !== 'false',
      ...(tag !== undefined ? { tag } : {}),
    });
    out(`${r.imageId}\n`);
  });
}
