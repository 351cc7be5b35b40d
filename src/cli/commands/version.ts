/** `cairn version`. */
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { GoNil, GoStruct } from '../../template/index.js';
import { execute, goJson, parseFormat } from '../format.js';
import { out } from '../context.js';
import { hostPlatform } from '../../oci/platform.js';

export async function run(_program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ format?: string }>();
  const p = hostPlatform();
  const info = {
    Client: {
      Version: VERSION,
      NodeVersion: process.versions.node,
      Os: p.os,
      Arch: p.architecture,
    },
  };
  if (o.format === 'json') return out(goJson(info) + '\n');
  if (o.format) {
    // Docker's versionInfo: a template named "version" (a syntax error exits 64); no daemon, so Server is a nil pointer.
    const tpl = parseFormat(o.format, { name: 'version', exitCode: 64 });
    const data = new GoStruct('system.versionInfo', {
      Client: new GoStruct('system.clientVersion', info.Client),
      Server: new GoNil('ptr', '*types.Version'),
    });
    // Docker writes as the template runs and a newline after it, even when it fails.
    return out(execute(tpl, data, { prefix: '', partial: (w) => out(w + '\n') }) + '\n');
  }
  out(`Client: cairn\n Version:           ${VERSION}\n Node.js version:   ${process.versions.node}\n OS/Arch:           ${p.os}/${p.architecture}\n Daemon:            none (daemonless)\n`);
}
