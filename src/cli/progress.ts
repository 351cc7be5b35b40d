/**
 * Progress on stderr for long operations. On a terminal: one line per item, redrawn in place
 * with a bar (Docker's `Loading layer [=====>    ] 12.3MB/40MB`). Otherwise: plain lines, one
 * when an item starts and one when it ends, so CI logs stay readable.
 */
import { humanSize } from './format.js';

export interface ProgressSink {
  start(id: string, label: string, total?: number): void;
  update(id: string, done: number): void;
  finish(id: string, message: string): void;
  /** A state with no bytes to count ("Already exists"): its own line, or the item's line redrawn. */
  status(id: string, message: string): void;
}

export class NullProgress implements ProgressSink {
  start(): void {}
  update(): void {}
  finish(): void {}
  status(): void {}
}

export interface ProgressStyle {
  /** Plain output: the line printed when an item starts (default `ID: LABEL (SIZE)`); null: none. */
  plainStart?: ((id: string, label: string, total?: number) => string) | null;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false, style: ProgressStyle = {}): ProgressSink {
  if (quiet) return new NullProgress();
  return stream.isTTY ? new TerminalProgress(stream) : new PlainProgress(stream, style);
}

class PlainProgress implements ProgressSink {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly style: ProgressStyle,
  ) {}
  start(id: string, label: string, total?: number): void {
    if (this.style.plainStart === null) return;
    const line = this.style.plainStart ? this.style.plainStart(id, label, total) : `${id}: ${label}${total !== undefined ? ` (${humanSize(total)})` : ''}`;
    this.out.write(`${line}\n`);
  }
  update(): void {}
  finish(id: string, message: string): void {
    this.out.write(`${id}: ${message}\n`);
  }
  status(id: string, message: string): void {
    this.out.write(`${id}: ${message}\n`);
  }
}

/**
 * Docker's progress field (jsonmessage's JSONProgress.String): on a terminal wider than 110
 * columns a 50-step bar `[=====>      ] `, then the byte counts, the current one right-aligned
 * in 8 (`  269.3kB/24.01MB`), sizes with 4 significant digits; narrower, the counts alone.
 */
export function progressBar(done: number, total: number | undefined, columns: number): string {
  const current = humanSize(done, 4);
  if (total === undefined || total <= 0) return current.padStart(8);
  const steps = Math.min(50, Math.trunc(Math.trunc((done / total) * 100) / 2));
  const bar = columns > 110 ? `[${'='.repeat(steps)}>${' '.repeat(50 - steps)}] ` : '';
  return `${bar}${current.padStart(8)}/${humanSize(total, 4)}`;
}

interface Line {
  id: string;
  label: string;
  total?: number;
  done: number;
  message?: string;
}

class TerminalProgress implements ProgressSink {
  private readonly lines: Line[] = [];
  private drawn = 0;
  private lastDraw = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}

  start(id: string, label: string, total?: number): void {
    const l = this.lines.find((x) => x.id === id);
    if (l) {
      l.label = label;
      if (total !== undefined) l.total = total;
      l.done = 0;
      delete l.message;
    } else this.lines.push({ id, label, ...(total !== undefined ? { total } : {}), done: 0 });
    this.draw(true);
  }
  update(id: string, done: number): void {
    const l = this.lines.find((x) => x.id === id);
    if (!l) return;
    l.done = done;
    delete l.message;
    this.draw(false);
  }
  finish(id: string, message: string): void {
    const l = this.lines.find((x) => x.id === id);
    if (!l) return;
    l.message = message;
    this.draw(true);
  }

  status(id: string, message: string): void {
    const l = this.lines.find((x) => x.id === id);
    if (l) {
      l.message = message;
      l.done = 0;
    } else this.lines.push({ id, label: '', done: 0, message });
    this.draw(true);
  }

  private render(l: Line): string {
    if (l.message) return `${l.id}: ${l.message}`;
    return `${l.id}: ${l.label} ${progressBar(l.done, l.total, this.out.columns || 120)}`;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    const cols = this.out.columns || 120;
    for (const l of this.lines) s += `\x1b[2K${this.render(l).slice(0, cols - 1)}\n`;
    this.drawn = this.lines.length;
    this.out.write(s);
  }
}
