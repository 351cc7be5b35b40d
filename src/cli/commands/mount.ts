/** `cairn image mount [IMAGE...]` and `cairn image umount IMAGE...`, as Podman. */
import type { Command } from 'commander';
import { mountImage, mountedImages, unmountImage } from '../../image/mount.js';
import { CairnError } from '../../errors.js';
import { goJson, table } from '../format.js';
import { out, withStore } from '../context.js';
import { parseReference } from '../../reference/reference.js';
import { tagsOf } from '../../metadata/records.js';

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  await withStore(program, async (store) => {
    if (images.length === 0) {
      const rows = mountedImages(store).map((m) => ({ ID: m.id.slice(7, 19), Repositories: tagsOf(store.db, m.id).map((t) => parseReference(t).familiarString()), Path: m.target }));
      if (o.format === 'json') out(goJson(rows, 2) + '\n');
      else if (rows.length) out(table(rows.map((r) => [r.ID, r.Repositories.join(','), r.Path])));
      return;
    }
    let failed = false;
    for (const name of images) {
      try {
        out(`${(await mountImage(store, name)).target}\n`);
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
  await withStore(program, async (store) => {
    const names = o.all ? mountedImages(store).map((m) => m.id as string) : images;
    let failed = false;
    for (const name of names) {
      try {
        const r = await unmountImage(store, name, { all: o.force ?? o.all ?? false });
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
