/** `cairn image mount [IMAGE...]` and `cairn image umount IMAGE...`, as Podman. */
import type { Command } from 'commander';
import { CairnError } from '../../errors.js';
import { goJson, renderListing, table, type Listing } from '../format.js';
import { out, withCairn } from '../context.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  await withCairn(program, async (cairn) => {
    if (images.length === 0) {
      const rows = (await cairn.mounts()).map((m) => ({ ID: m.id.slice(7, 19), Repositories: m.names, Path: m.target }));
      if (o.format === 'json') out(goJson(rows, 2) + '\n');
      else if (o.format && o.format !== 'table') {
        // A Go template (or `table TEMPLATE`) per mounted image, as Podman's mount listing.
        const listing: Listing = {
          rowType: 'images.mountReporter',
          columns: [['ID', 'IMAGE ID'], ['Repositories', 'REPOSITORIES'], ['Path', 'PATH']],
          rows: rows.map((r) => ({ ID: r.ID, Repositories: r.Repositories.join(','), Path: r.Path })),
        };
        out(renderListing(listing, o.format));
      } else if (rows.length) out(table(rows.map((r) => [r.ID, r.Repositories.join(','), r.Path])));
      return;
    }
    let failed = false;
    for (const name of images) {
      try {
        out(`${(await cairn.mount(name)).target}\n`);
      } catch (e) {
        if (!(e instanceof CairnError)) throw e;
        process.stderr.write(`Error: ${e.message}\n`);
        failed = true;
      }
    }
    if (failed) process.exitCode = 1;
  });
}

export async function runUmount(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ all?: boolean; force?: boolean }>();
  await withCairn(program, async (cairn) => {
    const names = o.all ? (await cairn.mounts()).map((m) => m.id as string) : images;
    let failed = false;
    for (const name of names) {
      try {
        const r = await cairn.unmount(name, { all: o.force ?? o.all ?? false });
        out(`${r.id.slice(7)}\n`);
      } catch (e) {
        if (!(e instanceof CairnError)) throw e;
        process.stderr.write(`Error: ${e.message}\n`);
        failed = true;
      }
    }
    if (failed) process.exitCode = 1;
  });
}
