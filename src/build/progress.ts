/**
 * A build's progress as BuildKit's plain printer shows it (`--progress=plain`, and `auto` off a
 * terminal): one numbered vertex per piece of work (`#4 [build 1/4] FROM ...`), its digest,
 * the command's output lines with the seconds since the vertex started (`#8 0.077 text`), then
 * `DONE 0.1s`, `CACHED` or `ERROR: message`, each vertex's block ended by a blank line; when a
 * build fails, BuildKit's box naming the failed vertex. `quiet` prints nothing (`-q`).
 *
 * `TtyProgress` is BuildKit's terminal display (`--progress=tty`, and `auto` on a terminal):
 * `[+] Building 1.2s (7/9)`, a line per vertex with its time (blue once done, red when it
 * failed, `CACHED` before a cached one's name), `=> =>` lines for its statuses and, while it
 * runs, the last lines of its output; redrawn in place at most ten times a second, and once
 * more at the end with `FINISHED`.
 *
 * The builder speaks to a `BuildProgress` only; this module owns the text.
 */

/** One piece of work shown to the user. */
export interface Vertex {
  /** As BuildKit names it: `[build 2/4] WORKDIR /src`, `[internal] load build context`. */
  name: string;
  /** The vertex's digest (cairn: the step's cache key). */
  digest?: string;
}

/** What the builder reports. */
export interface BuildProgress {
  /** A vertex starts; returns its handle. */
  start(v: Vertex): VertexHandle;
  /** The build ended (drawn a last time, the cursor given back); nothing is reported after. */
  finish?(): void;
}

export interface VertexHandle {
  /** The vertex's digest, once known (cairn: the step's cache key); shown by the plain printer only. */
  digest(d: string): void;
  /** Output of the vertex's command, as it comes. */
  log(chunk: Buffer | string): void;
  /** A status line (`transferring context: 30B done`). */
  status(text: string): void;
  done(): void;
  cached(): void;
  error(message: string): void;
}

/** The plain printer: writes to `write` (stderr for the CLI). */
export class PlainProgress implements BuildProgress {
  private next = 1;
  private current: number | undefined;
  private readonly write: (text: string) => void;
  private readonly now: () => number;

  constructor(write: (text: string) => void, now: () => number = () => performance.now()) {
    this.write = write;
    this.now = now;
  }

  start(v: Vertex): VertexHandle {
    const n = this.next++;
    const started = this.now();
    const header = `#${n} ${v.name}\n${v.digest !== undefined ? `#${n} ${v.digest}\n` : ''}`;
    let partial = '';
    let ended = false;
    // Another vertex printed since this one's last line: its header is printed again (BuildKit's plain printer).
    const enter = () => {
      if (this.current !== n) {
        if (this.current !== undefined) this.write('\n');
        this.write(header);
        this.current = n;
      }
    };
    enter();
    const elapsed = () => ((this.now() - started) / 1000).toFixed(3);
    const flushLines = (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.write(`#${n} ${elapsed()} ${line.replace(/\r$/, '')}\n`);
    };
    const end = (line: string) => {
      if (ended) return;
      ended = true;
      enter();
      if (partial !== '') {
        this.write(`#${n} ${elapsed()} ${partial}\n`);
        partial = '';
      }
      this.write(`#${n} ${line}\n\n`);
      this.current = undefined;
    };
    return {
      digest: (d) => {
        enter();
        this.write(`#${n} ${d}\n`);
      },
      log: (chunk) => {
        enter();
        flushLines(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      },
      status: (text) => {
        enter();
        this.write(`#${n} ${text}\n`);
      },
      done: () => end(`DONE ${((this.now() - started) / 1000).toFixed(1)}s`),
      cached: () => end('CACHED'),
      error: (message) => end(`ERROR: ${message}`),
    };
  }
}

/** `-q` / `--progress=quiet`: nothing. */
export class QuietProgress implements BuildProgress {
  start(_v: Vertex): VertexHandle {
    const nothing = () => undefined;
    return { digest: nothing, log: nothing, status: nothing, done: nothing, cached: nothing, error: nothing };
  }
}

/** BuildKit's box after a failed build, naming the vertex that failed. */
export function failureBox(vertex: string): string {
  return `------\n > ${vertex}:\n------\n`;
}

interface TtyVertex {
  name: string;
  started: number;
  ended?: number;
  state: 'running' | 'done' | 'cached' | 'error';
  statuses: Array<{ text: string; at: number }>;
  logs: string[];
  partial: string;
}

const ESC = '\x1b[';
/** Lines of a running vertex's output shown under it. */
const LOG_LINES = 6;

/** BuildKit's terminal display (see the module comment). */
export class TtyProgress implements BuildProgress {
  private readonly vertices: TtyVertex[] = [];
  private readonly started: number;
  private drawn = 0;
  private finished = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: (text: string) => void,
    private readonly columns: () => number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  start(v: Vertex): VertexHandle {
    const vertex: TtyVertex = { name: v.name, started: this.now(), state: 'running', statuses: [], logs: [], partial: '' };
    this.vertices.push(vertex);
    const end = (state: TtyVertex['state']) => {
      if (vertex.state !== 'running') return;
      vertex.state = state;
      vertex.ended = this.now();
    };
    return {
      digest: () => undefined,
      log: (chunk) => {
        const lines = (vertex.partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'))).split('\n');
        vertex.partial = lines.pop()!;
        vertex.logs.push(...lines.map((l) => l.replace(/\r$/, '')));
        if (vertex.logs.length > LOG_LINES) vertex.logs.splice(0, vertex.logs.length - LOG_LINES);
      },
      status: (text) => vertex.statuses.push({ text: text.replace(/ done$/, ''), at: this.now() }),
      done: () => end('done'),
      cached: () => end('cached'),
      error: (message) => {
        vertex.statuses.push({ text: `ERROR: ${message}`, at: this.now() });
        end('error');
      },
    };
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    this.draw();
    this.write(`${ESC}?25h`);
  }

  private draw(): void {
    const width = Math.max(40, this.columns());
    const now = this.now();
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    const done = this.vertices.filter((v) => v.state !== 'running').length;
    const lines: Array<{ text: string; style: string }> = [];
    const header = `[+] Building ${secs(now - this.started)} (${done}/${this.vertices.length})${this.finished ? ' FINISHED' : ''}`;
    for (const v of this.vertices) {
      const style = v.state === 'error' ? `${ESC}31m` : v.state === 'running' ? '' : `${ESC}34m`;
      const name = `${v.state === 'cached' ? 'CACHED ' : v.state === 'error' ? 'ERROR ' : ''}${v.name}`;
      lines.push({ text: timed(` => ${name}`, secs((v.ended ?? now) - v.started), width), style });
      for (const st of v.statuses) lines.push({ text: timed(` => => ${st.text}`, secs(st.at - v.started), width), style });
      if (v.state === 'running') for (const l of v.logs) lines.push({ text: ` => => # ${l}`.slice(0, width - 1).padEnd(width - 1), style: `${ESC}2m` });
    }
    let out = this.drawn === 0 ? `${ESC}1A${ESC}1B` : `${ESC}?25h${`${ESC}1A`.repeat(this.drawn)}`;
    out += `${ESC}0G${ESC}?25l${header.padEnd(width)}\n`;
    for (const l of lines) out += `${l.style}${l.text}\n${ESC}0m`;
    this.write(out);
    this.drawn = lines.length + 1;
  }
}

/** A display line: `text` cut or padded so that two spaces and the time end it one column short of `width`. */
function timed(text: string, time: string, width: number): string {
  const room = width - 1 - time.length - 2;
  return `${text.length > room ? text.slice(0, room) : text.padEnd(room)}  ${time}`;
}
