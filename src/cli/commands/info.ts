/** `cairn info`: what the store holds and where. */
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { goJson } from '../format.js';
import { out, withCairn } from '../context.js';
import { hostPlatform } from '../../oci/platform.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  await withCairn(program, async (cairn) => {
    const s = await cairn.info();
    const blobs = s.contentBlobs;
    const bytes = s.contentBytes;
    const p = hostPlatform();
    const info = {
      ServerVersion: VERSION,
      Images: s.images,
      Tags: s.tags,
      RootDir: s.root,
      SchemaVersion: s.schemaVersion,
      ContentBlobs: blobs,
      ContentBytes: bytes,
      CompressedBlobs: s.compressedBlobs,
      OSType: p.os,
      Architecture: p.architecture,
      NodeVersion: process.versions.node,
    };
    if (o.format === 'json') return out(goJson(info) + '\n');
    out(
      `Server Version: ${info.ServerVersion}\nImages: ${info.Images}\nTags: ${info.Tags}\nRoot Dir: ${info.RootDir}\nSchema Version: ${info.SchemaVersion}\nContent: ${blobs} blobs, ${bytes} bytes\nCompressed Blobs: ${info.CompressedBlobs}\nOSType: ${info.OSType}\nArchitecture: ${info.Architecture}\n`,
    );
  });
}
