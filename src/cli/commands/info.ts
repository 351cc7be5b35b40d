/** `cairn info`: what the store holds and where. */
import type { Command } from 'commander';
import { listImages, listTags } from '../../metadata/records.js';
import { SCHEMA_VERSION } from '../../metadata/db.js';
import { VERSION } from '../version.js';
import { goJson } from '../format.js';
import { out, withStore } from '../context.js';
import { hostPlatform } from '../../oci/platform.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  await withStore(program, async (store) => {
    let blobs = 0;
    let bytes = 0;
    for await (const b of store.content.walk()) {
      blobs++;
      bytes += b.size;
    }
    const p = hostPlatform();
    const info = {
      ServerVersion: VERSION,
      Images: listImages(store.db).length,
      Tags: listTags(store.db).length,
      RootDir: store.root,
      SchemaVersion: SCHEMA_VERSION,
      ContentBlobs: blobs,
      ContentBytes: bytes,
      OSType: p.os,
      Architecture: p.architecture,
      NodeVersion: process.versions.node,
    };
    if (o.format === 'json') return out(goJson(info) + '\n');
    out(
      `Server Version: ${info.ServerVersion}\nImages: ${info.Images}\nTags: ${info.Tags}\nRoot Dir: ${info.RootDir}\nSchema Version: ${info.SchemaVersion}\nContent: ${blobs} blobs, ${bytes} bytes\nOSType: ${info.OSType}\nArchitecture: ${info.Architecture}\n`,
    );
  });
}
