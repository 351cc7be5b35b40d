/**
 * Docker's CLI drawing a daemon's progress on a terminal (docker/cli's vendored
 * pkg/jsonmessage, DisplayJSONMessagesStream with isTerminal): each progress message of an ID
 * rewrites that ID's line in place — a new ID first gets a new line ("\n"), then the cursor
 * goes up to the ID's line (ESC[nA, none when n is 0), the line is erased (ESC[2K), "\r",
 * `ID: STATUS PROGRESS\r`, and the cursor goes back down (ESC[nB); a message without an ID
 * (a stream line: "Loaded image: …") is written as it is and forgets the lines, so that later
 * IDs start below it. Only the ID's own line is rewritten.
 */
import { progressBar } from './progress.js';

/** jsonmessage.JSONProgress.String() for byte counts (no start time: no time left). */
export function jsonProgressString(current: number, total: number, width: number): string {
  if (current <= 0 && total <= 0) return '';
  // a count over the total: the bar, and the count alone
  if (total > 0 && current > total) return progressBar(current, total, width).replace(/\/[^/]*$/, '');
  return progressBar(current, total > 0 ? total : undefined, width);
}

export class JsonMessageDisplay {
  private ids = new Map<string, number>();

  /** `width`: the terminal's columns (Docker's CLI asks the terminal; 200 when it cannot). */
  constructor(
    private readonly write: (s: string) => void,
    private readonly width: number,
  ) {}

  /** A progress message: `ID: STATUS [====>   ] CURRENT/TOTAL` on the ID's line. */
  progress(id: string, status: string, current: number, total: number): void {
    let s = '';
    let line = this.ids.get(id);
    if (line === undefined) {
      line = this.ids.size;
      this.ids.set(id, line);
      s += '\n';
    }
    const diff = this.ids.size - line;
    s += `${diff > 0 ? `\x1b[${diff}A` : ''}\x1b[2K\r${id}: ${status} ${jsonProgressString(current, total, this.width)}\r${diff > 0 ? `\x1b[${diff}B` : ''}`;
    this.write(s);
  }

  /** A message without an ID (a stream's text): written as it is; the lines drawn so far are left alone from now on. */
  stream(text: string): void {
    this.ids = new Map();
    this.write(text);
  }
}
