/**
 * A build's progress as BuildKit's plain printer shows it (`--progress=plain`, and `auto` off a
 * terminal): one numbered vertex per piece of work (`#4 [build 1/4] FROM ...`), its digest,
 * the command's output lines with the seconds since the vertex started (`#8 0.077 text`), then
 * `DONE 0.1s`, `CACHED` or `ERROR: message`, each vertex's block ended by a blank line; when a
 * build fails, BuildKit's box naming the failed vertex. `quiet` prints nothing (`-q`).
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
}

export interface VertexHandle {
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
    return { log: nothing, status: nothing, done: nothing, cached: nothing, error: nothing };
  }
}

/** BuildKit's box after a failed build, naming the vertex that failed. */
export function failureBox(vertex: string): string {
  return `------\n > ${vertex}:\n------\n`;
}
