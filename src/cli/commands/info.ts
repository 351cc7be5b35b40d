/** `cairn info`: what the store holds and where. */
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { GoStruct } from '../../template/index.js';
import { execute, goJson, parseFormat } from '../format.js';
import { out, withCairn } from '../context.js';
import { hostPlatform } from '../../oci/platform.js';

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  // Docker parses the template before it asks the daemon anything: a syntax error exits 64.
  const tpl = o.format && o.format !== 'json' ? parseFormat(o.format, { exitCode: 64 }) : undefined;
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
      DamagedImages: s.damagedImages,
      OSType: p.os,
      Architecture: p.architecture,
      NodeVersion: process.versions.node,
    };
    if (o.format === 'json') return out(goJson(info) + '\n');
    // Docker's info struct: an unknown field is "can't evaluate field X in type system.info". Docker writes
    // as the template runs and a newline after it, even when it fails.
    if (tpl) return out(execute(tpl, new GoStruct('system.info', info), { prefix: '', partial: (w) => out(w + '\n') }) + '\n');
    out(
      `Server Version: ${info.ServerVersion}\nImages: ${info.Images}\nTags: ${info.Tags}\nRoot Dir: ${info.RootDir}\nSchema Version: ${info.SchemaVersion}\nContent: ${blobs} blobs, ${bytes} bytes\nCompressed Blobs: ${info.CompressedBlobs}\nDamaged Images: ${info.DamagedImages}\nOSType: ${info.OSType}\nArchitecture: ${info.Architecture}\n`,
    );
  });
}
