/**
 * Writing a container's log as conmon writes it (the k8s-file format, one record per line:
 * `TIMESTAMP STREAM F|P MESSAGE`, F ending a line, P a piece of one cut where a read ended),
 * for the containers cairn watches itself (a foreground `run`): `logs` reads them the same
 * way as a detached container's. Appends go to the file as the output arrives; nothing of the
 * output is held beyond the line in progress.
 */
import { openSync, writeSync, closeSync } from 'node:fs';

/** conmon's timestamp: RFC 3339 with nanoseconds and the zone offset (here always UTC: +00:00). */
export function logTimestamp(now = Date.now(), nanos = process.hrtime()[1] % 1e6): string {
  const iso = new Date(now).toISOString(); // 2026-12-04T23:00:00.123Z
  const ns = `${iso.slice(20, 23)}${String(nanos).padStart(6, '0')}`;
  return `${iso.slice(0, 19)}.${ns}+00:00`;
}

/** One record per line of `chunk`; a tail without a newline is a P record. */
export function logRecords(stream: 'stdout' | 'stderr', chunk: Buffer, timestamp: string): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  while (start < chunk.length) {
    const nl = chunk.indexOf(0x0a, start);
    const end = nl < 0 ? chunk.length : nl;
    out.push(Buffer.from(`${timestamp} ${stream} ${nl < 0 ? 'P' : 'F'} `), chunk.subarray(start, end), Buffer.from('\n'));
    start = end + 1;
  }
  return Buffer.concat(out);
}

export class LogWriter {
  private fd: number | undefined;

  constructor(path: string) {
    this.fd = openSync(path, 'a', 0o600);
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.fd === undefined || chunk.length === 0) return;
    writeSync(this.fd, logRecords(stream, chunk, logTimestamp()));
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
