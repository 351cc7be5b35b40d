/**
 * `cairn stats [-a] [--no-stream] [--format F] [CONTAINER...]`: Docker's table of containers'
 * resource use (CPU %, memory usage / limit, memory %, network and block I/O, PIDs); without
 * `--no-stream`, redrawn every second until interrupted.
 */
import type { Command } from 'commander';
import type { Cairn, ContainerStats } from '../../engine.js';
import { humanSize, renderListing, type Listing } from '../format.js';
import { out, withCairn } from '../context.js';

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** go-units BytesSize: "%.4g" of the size in binary units (1.5MiB, 1.944GiB). */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY.length - 1) {
    size /= 1024;
    i++;
  }
  return `${Number(size.toPrecision(4)).toString()}${BINARY[i]}`;
}

function listing(stats: ContainerStats[], trunc: boolean): Listing {
  return {
    rowType: '*formatter.containerStatsContext',
    headers: { Container: 'CONTAINER', BlockIO: 'BLOCK I/O', NetIO: 'NET I/O', MemPerc: 'MEM %', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', PIDs: 'PIDS' },
    columns: [
      ['ID', 'CONTAINER ID'],
      ['Name', 'NAME'],
      ['CPUPerc', 'CPU %'],
      ['MemUsage', 'MEM USAGE / LIMIT'],
      ['MemPerc', 'MEM %'],
      ['NetIO', 'NET I/O'],
      ['BlockIO', 'BLOCK I/O'],
      ['PIDs', 'PIDS'],
    ],
    rows: stats.map((s) => ({
      Container: trunc ? s.id.slice(0, 12) : s.id,
      ID: trunc ? s.id.slice(0, 12) : s.id,
      Name: s.name,
      CPUPerc: `${s.cpuPercent.toFixed(2)}%`,
      MemUsage: `${bytesSize(s.memUsage)} / ${bytesSize(s.memLimit)}`,
      MemPerc: `${(s.memLimit > 0 ? (s.memUsage / s.memLimit) * 100 : 0).toFixed(2)}%`,
      NetIO: `${humanSize(s.netRx)} / ${humanSize(s.netTx)}`,
      BlockIO: `${humanSize(s.blockRead)} / ${humanSize(s.blockWrite)}`,
      PIDs: String(s.pids),
    })),
  };
}

export async function run(program: Command, cmd: Command, refs: string[]): Promise<void> {
  const o = cmd.opts<{ all?: boolean; stream: boolean; format?: string; trunc: boolean }>();
  await withCairn(program, async (cairn: Cairn) => {
    if (!o.stream) {
      out(renderListing(listing(await cairn.containerStats(refs, { all: o.all ?? false }), o.trunc), o.format));
      return;
    }
    let stop = false;
    const onSignal = () => (stop = true);
    process.once('SIGINT', onSignal);
    try {
      while (!stop) {
        const text = renderListing(listing(await cairn.containerStats(refs, { all: o.all ?? false, intervalMs: 1000 }), o.trunc), o.format);
        out(process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
      }
    } finally {
      process.off('SIGINT', onSignal);
    }
  });
}
