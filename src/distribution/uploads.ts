/**
 * Blob upload sessions of `registry serve`: each one a content-store writer (an ingest file,
 * hashed as it grows) that PATCH requests append to and the final PUT commits under the digest
 * the client names — verified, so nothing a client sends is visible before that. The offset a
 * session reports is the bytes it really holds: a PATCH whose connection drops keeps what
 * arrived, and the client resumes from there (the upload status it asks for says where).
 * Requests on one session run one at a time; a session idle for `idleMs` is dropped with its
 * bytes. Sessions live in this process: a restarted server has none (the ingest files of a
 * process that is gone are removed when the store next opens).
 */
import { randomBytes } from 'node:crypto';
import type { ContentStore, ContentWriter } from '../content/content.js';
import { ApiError } from './api.js';

interface Session {
  id: string;
  repo: string;
  writer: ContentWriter;
  lastUsed: number;
  /** The request working on it now, if any: the next waits for it. */
  busy: Promise<void>;
}

export class UploadSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly content: ContentStore,
    private readonly idleMs = 15 * 60_000,
    /** At most this many sessions open at once (a client that opens many is refused). */
    private readonly max = 1024,
  ) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, idleMs)).unref();
  }

  async start(repo: string): Promise<string> {
    if (this.sessions.size >= this.max) throw new ApiError('TOOMANYREQUESTS', `${this.max} uploads are open`);
    const id = randomBytes(16).toString('hex');
    this.sessions.set(id, { id, repo, writer: await this.content.writer(), lastUsed: Date.now(), busy: Promise.resolve() });
    return id;
  }

  /** The session `id` of `repo`, or BLOB_UPLOAD_UNKNOWN. */
  private get(repo: string, id: string): Session {
    const s = this.sessions.get(id);
    if (!s || s.repo !== repo) throw new ApiError('BLOB_UPLOAD_UNKNOWN', `upload ${id}`);
    return s;
  }

  /** Bytes the session holds. */
  offset(repo: string, id: string): number {
    const s = this.get(repo, id);
    s.lastUsed = Date.now();
    return s.writer.offset;
  }

  /**
   * Run `fn` on the session alone (requests on one session are serialised); it is dropped
   * when `fn` ends it (commit or cancel) or fails in a way that leaves it unusable.
   */
  async with<T>(repo: string, id: string, fn: (writer: ContentWriter, end: () => void) => Promise<T>): Promise<T> {
    const s = this.get(repo, id);
    const before = s.busy;
    let release!: () => void;
    s.busy = new Promise((r) => (release = r));
    await before;
    try {
      if (this.sessions.get(id) !== s) throw new ApiError('BLOB_UPLOAD_UNKNOWN', `upload ${id}`);
      s.lastUsed = Date.now();
      return await fn(s.writer, () => this.sessions.delete(id));
    } finally {
      s.lastUsed = Date.now();
      release();
    }
  }

  /** Drop session `id` and its bytes (DELETE of the upload). */
  async cancel(repo: string, id: string): Promise<void> {
    await this.with(repo, id, async (w, end) => {
      end();
      await w.abort();
    });
  }

  /** Drop sessions idle for longer than the limit. */
  async sweep(now = Date.now()): Promise<void> {
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastUsed <= this.idleMs) continue;
      this.sessions.delete(s.id);
      await s.writer.abort();
    }
  }

  /** Drop every session (the server stops). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.writer.abort();
  }

  get size(): number {
    return this.sessions.size;
  }
}
