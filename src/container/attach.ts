/**
 * Attaching to a container conmon holds: this module owns the client side of conmon's attach
 * socket (`ConmonAttach`: the container's stdout and stderr as streams, its stdin as a
 * writable whose end half-closes), resizing its terminal through conmon's control fifo
 * (`resizeTerminal`), Docker's detach keys (`parseDetachKeys`, `DetachKeyMatcher`), and
 * `attachStdio`, which joins a container to the caller's own stdin/stdout/stderr and terminal
 * (`cairn attach`, `cairn start -a`, `run` in the foreground).
 *
 * The protocol is conmon's (conn_sock.c): a SOCK_SEQPACKET unix socket at `BUNDLE/attach`;
 * every packet conmon sends is one read of the container's output with a byte in front naming
 * the stream (2 stdout, 3 stderr; a terminal's output is all stdout); every packet sent to it is
 * written to the container's stdin as is (conmon reads at most 32 KiB of a packet: input is
 * sent in pieces no larger; an empty packet would read as the end). The client's half-close
 * (shutdown SHUT_WR) is the end of its input: conmon then closes the container's stdin, unless
 * the container has a terminal or was created with `leaveStdinOpen`. conmon closes the socket
 * once the container exited and its output was all sent (before it writes the exit file: wait
 * for that with conmon.ts `waitForExit`). conmon blocks while an attached client does not read:
 * read both streams.
 *
 * Node's net cannot open SEQPACKET sockets: the native addon connects (through /proc/self/fd,
 * so the bundle's path may be of any length) and reads packets as the event loop reports the
 * socket readable; writes are write(2)s on libuv's pool, each bounded by a send timeout.
 */
import { closeSync, openSync, write as fsWrite, writeSync, constants as fsConstants } from 'node:fs';
import { once } from 'node:events';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { CairnError, DataCorruptError, InvalidArgumentError, NotFoundError, errnoCode } from '../errors.js';
import { constants as nativeConstants, pollReadable, recvPacket, seqpacketConnect, shutdown } from '../native/index.js';
import { attachSocketPath, controlPath } from './conmon.js';

const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;
/** conmon reads at most this much of a packet sent to it (CONN_SOCK_BUF_SIZE). */
const MAX_INPUT_PACKET = 32 * 1024;
/** conmon sends at most 8 KiB + 1 (STDIO_BUF_SIZE and the stream byte). */
const RECV_BUFFER = 64 * 1024;
/** How long one write may wait for conmon to take it before it is tried again (or given up when closing). */
const SEND_TIMEOUT_MS = 250;

/** fs.write as a promise of the bytes written. */
function writeFd(fd: number, data: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    fsWrite(fd, data, 0, data.length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** One connection to conmon's attach socket. */
export class ConmonAttach {
  /** The container's stdout (with a terminal: all its output). Read it, and stderr: conmon waits for a client that does not. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The container's stdin; `end()` half-closes the connection (the container sees the end of its input, see the module's comment). Input after the connection is over is dropped. */
  readonly stdin: Writable;
  /** Settles when the connection is over: conmon closed it (the container exited and its output is all in stdout/stderr) or {@link close} was called. */
  readonly closed: Promise<void>;

  private readonly fd: number;
  private readonly out: PassThrough;
  private readonly err: PassThrough;
  private closing = false;
  private fdClosed = false;
  private writing: Promise<unknown> = Promise.resolve();
  private readonly stop: Promise<void>;
  private stopNow!: () => void;

  private constructor(fd: number) {
    this.fd = fd;
    this.out = new PassThrough();
    this.err = new PassThrough();
    this.stdout = this.out;
    this.stderr = this.err;
    this.stop = new Promise((resolve) => {
      this.stopNow = resolve;
    });
    this.stdin = new Writable({
      highWaterMark: MAX_INPUT_PACKET,
      write: (chunk: Buffer, _enc, cb) => {
        const p = this.send(chunk);
        // finish() waits for the write in flight, not for its outcome (which goes to cb).
        this.writing = p.catch(() => undefined);
        p.then(() => cb(), (e: Error) => cb(e));
      },
      final: (cb) => {
        try {
          if (!this.closing) shutdown(this.fd, nativeConstants.SHUT_WR);
          cb();
        } catch (e) {
          // conmon went away first (the container exited): there is no input left to end.
          if (errnoCode(e) === 'ENOTCONN' || errnoCode(e) === 'EPIPE') cb();
          else cb(e as Error);
        }
      },
    });
    this.closed = this.pump().finally(() => this.finish());
  }

  /**
   * Connect to the attach socket conmon serves in `bundle` (conmon.ts attachSocketPath).
   * NotFoundError when there is none (conmon is not running for that bundle).
   */
  static connect(bundle: string): ConmonAttach {
    const path = attachSocketPath(bundle);
    let fd: number;
    try {
      fd = seqpacketConnect(path, SEND_TIMEOUT_MS);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ECONNREFUSED') throw new NotFoundError(`no conmon serves ${path}: the container is not running`, { cause: e });
      throw new CairnError('internal', `cannot attach to ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new ConmonAttach(fd);
  }

  /**
   * Send `data` to the container's stdin, in packets conmon takes whole. Input that can no
   * longer arrive is dropped: after close(), or once conmon is gone (the container exited).
   */
  private async send(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; ) {
      if (this.closing) return;
      const piece = data.subarray(at, at + MAX_INPUT_PACKET);
      let n: number;
      try {
        n = await writeFd(this.fd, piece);
      } catch (e) {
        const code = errnoCode(e);
        // Not taken within the send timeout (conmon is busy writing the container's stdin): try again.
        if (code === 'EAGAIN') continue;
        if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'ENOTCONN') return;
        throw e;
      }
      at += n;
    }
  }

  /** Read conmon's packets into stdout and stderr until it closes the connection or close() is called. */
  private async pump(): Promise<void> {
    const buf = Buffer.allocUnsafe(RECV_BUFFER);
    try {
      while (!this.closing) {
        const n = recvPacket(this.fd, buf);
        if (n === -1) {
          await pollReadable(this.fd);
          continue;
        }
        if (n === 0) break;
        if (n > buf.length) throw new DataCorruptError(`conmon sent an attach packet of ${n} bytes (at most ${buf.length} expected)`);
        const target = buf[0] === STDOUT_PIPE ? this.out : buf[0] === STDERR_PIPE ? this.err : undefined;
        if (target === undefined || n === 1) continue;
        if (!target.write(Buffer.from(buf.subarray(1, n)))) {
          // Read no more until the reader caught up (conmon, and then the container, wait meanwhile).
          await Promise.race([once(target, 'drain'), this.stop]);
        }
      }
    } catch (e) {
      this.out.destroy(e as Error);
      this.err.destroy(e as Error);
      throw e;
    }
  }

  private async finish(): Promise<void> {
    this.out.end();
    this.err.end();
    this.closing = true;
    await this.writing;
    if (!this.fdClosed) {
      this.fdClosed = true;
      closeSync(this.fd);
    }
  }

  /** End the connection now (detach): the container goes on; what it writes meanwhile goes only to the log. */
  async close(): Promise<void> {
    if (!this.closing && !this.fdClosed) {
      this.closing = true;
      this.stopNow();
      try {
        shutdown(this.fd, nativeConstants.SHUT_RDWR);
      } catch (e) {
        // conmon closed its end at the same time.
        if (errnoCode(e) !== 'ENOTCONN') throw e;
      }
    }
    // A failure of the connection is reported through `closed` to whoever waits on it; closing only waits for the end.
    await this.closed.catch(() => undefined);
  }
}

/** Resize the terminal of the container conmon holds in `bundle` (conmon's control fifo: `1 ROWS COLS`). */
export function resizeTerminal(bundle: string, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0 || rows > 0xffff || cols > 0xffff) {
    throw new InvalidArgumentError(`invalid terminal size ${rows}x${cols}`);
  }
  const path = controlPath(bundle);
  let fd: number;
  try {
    // Non-blocking: with nobody reading (conmon gone) the open fails with ENXIO instead of waiting.
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENXIO') throw new NotFoundError(`no conmon reads ${path}: the container is not running`, { cause: e });
    throw e;
  }
  try {
    writeSync(fd, `1 ${rows} ${cols}\n`);
  } finally {
    closeSync(fd);
  }
}

// --- detach keys ------------------------------------------------------------------------------

/** Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_NAMES = ['@', ...'abcdefghijklmnopqrstuvwxyz', '[', '\\', ']', '^', '_'];

/**
 * Docker's `--detach-keys` (term.ToBytes): comma-separated keys, each one character, `ctrl-X`
 * (X one of a-z @ [ \ ] ^ _) or `DEL`. An empty text is no sequence (detaching off).
 */
export function parseDetachKeys(text: string): Buffer {
  if (text === '') return Buffer.alloc(0);
  const out: number[] = [];
  for (const key of text.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const ctrl = /^ctrl-(.)$/.exec(key);
    const code = ctrl === null ? -1 : CTRL_NAMES.indexOf(ctrl[1]!);
    if (code >= 0) out.push(code);
    else if (key === 'DEL') out.push(127);
    else throw new InvalidArgumentError(`Invalid detach keys (${text}) provided: unknown key ${JSON.stringify(key)}`);
  }
  return Buffer.from(out);
}

/**
 * Finds the detach sequence in input as it is typed: bytes that may begin the sequence are
 * held back until it is complete (detach) or broken (they are passed on).
 */
export class DetachKeyMatcher {
  private readonly keys: Buffer;
  private pos = 0;
  constructor(keys: Buffer) {
    this.keys = keys;
  }

  /** The bytes of `chunk` to pass on, and whether the sequence is now complete (the bytes after it are dropped). */
  push(chunk: Buffer): { data: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { data: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.pos]) {
        this.pos++;
        if (this.pos === this.keys.length) {
          this.pos = 0;
          return { data: Buffer.from(out), detach: true };
        }
        continue;
      }
      if (this.pos > 0) {
        for (let i = 0; i < this.pos; i++) out.push(this.keys[i]!);
        this.pos = 0;
        if (b === this.keys[0]) {
          this.pos = 1;
          if (this.keys.length === 1) return { data: Buffer.from(out), detach: true };
          continue;
        }
      }
      out.push(b);
    }
    return { data: Buffer.from(out), detach: false };
  }
}

// --- the caller's stdio -----------------------------------------------------------------------

/** A terminal's input: a Readable that may switch to raw mode (process.stdin on a TTY). */
export type InputStream = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
/** A terminal's output: a Writable that knows its size (process.stdout on a TTY). */
export type OutputStream = Writable & { isTTY?: boolean; columns?: number; rows?: number };

export interface AttachStdioOptions {
  /** The caller's input, forwarded to the container's stdin (omit: no input; `-a` without `-i`). */
  stdin?: InputStream;
  stdout: OutputStream;
  stderr: Writable;
  /** The container has a terminal: raw mode on the caller's terminal, its size followed, detach keys read. */
  tty: boolean;
  /** Docker's `--detach-keys` (default ctrl-p,ctrl-q; '' turns detaching off). Read only with a terminal, as Docker does. */
  detachKeys?: string;
  /** Called once connected, before output is awaited: `start -a` starts the container here, so no output is missed. */
  afterConnect?: () => Promise<void>;
}

/**
 * Join the container conmon holds in `bundle` to the caller's stdio until its output ends
 * (the container exited: read the exit code with conmon.ts `waitForExit`) or the detach keys
 * are typed (`detached: true`; the container goes on). The end of the caller's input is
 * passed on as the end of the container's input.
 */
export async function attachStdio(bundle: string, opts: AttachStdioOptions): Promise<{ detached: boolean }> {
  const keys = parseDetachKeys(opts.detachKeys ?? DEFAULT_DETACH_KEYS);
  const session = ConmonAttach.connect(bundle);
  const cleanups: Array<() => void> = [];
  let detached = false;
  try {
    if (opts.tty && opts.stdout.isTTY && opts.stdout.columns !== undefined && opts.stdout.rows !== undefined) {
      const out = opts.stdout;
      const resize = () => {
        if (out.rows !== undefined && out.columns !== undefined && out.rows > 0 && out.columns > 0) resizeTerminal(bundle, out.rows, out.columns);
      };
      resize();
      out.on('resize', resize);
      cleanups.push(() => out.off('resize', resize));
    }
    await opts.afterConnect?.();

    const outputDone = Promise.all([pipeTo(session.stdout, opts.stdout), pipeTo(session.stderr, opts.stderr)]);
    const detach = new Promise<void>((resolve) => {
      const input = opts.stdin;
      if (input === undefined) return;
      const raw = opts.tty && input.isTTY === true && typeof input.setRawMode === 'function';
      if (raw) {
        input.setRawMode!(true);
        cleanups.push(() => input.setRawMode!(false));
      }
      const matcher = new DetachKeyMatcher(opts.tty ? keys : Buffer.alloc(0));
      const onData = (chunk: Buffer | string) => {
        const { data, detach: now } = matcher.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        if (data.length > 0 && !session.stdin.write(data)) {
          input.pause();
          session.stdin.once('drain', () => input.resume());
        }
        if (now) {
          detached = true;
          resolve();
        }
      };
      const onEnd = () => session.stdin.end();
      // The container's stdin failing (it exited, conmon closed the socket) ends the forwarding, not the attach.
      const onStdinError = () => input.pause();
      input.on('data', onData);
      input.on('end', onEnd);
      session.stdin.on('error', onStdinError);
      input.resume();
      cleanups.push(() => {
        input.off('data', onData);
        input.off('end', onEnd);
        session.stdin.off('error', onStdinError);
        input.pause();
      });
    });
    await Promise.race([session.closed, detach]);
    // Detached: closing ends the output streams too, so what was read reaches the caller either way.
    if (detached) await session.close();
    await outputDone;
    return { detached };
  } finally {
    for (const c of cleanups.reverse()) c();
    await session.close();
  }
}

/** Copy `from` into `to` without ending `to` (the caller's stdout outlives the attach). */
async function pipeTo(from: Readable, to: Writable): Promise<void> {
  for await (const chunk of from) {
    if (!to.write(chunk as Buffer)) await drained(to);
  }
}

/** Until `w` drains; rejects when it fails first. */
async function drained(w: Writable): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([once(w, 'drain', { signal: ac.signal }), once(w, 'error', { signal: ac.signal }).then(([e]: unknown[]) => Promise.reject(e))]);
  } finally {
    ac.abort();
  }
}
