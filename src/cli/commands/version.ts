/** `cairn version`. */
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { goJson, renderTemplate } from '../format.js';
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
  if (o.format) return out(renderTemplate(o.format, (f) => goJson((info as Record<string, unknown>)[f]), () => goJson(info)) + '\n');
  out(`Client: cairn\n Version:           ${VERSION}\n Node.js version:   ${process.versions.node}\n OS/Arch:           ${p.os}/${p.architecture}\n Daemon:            none (daemonless)\n`);
}
