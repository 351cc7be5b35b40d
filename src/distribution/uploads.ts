/**
 * Blob upload sessions of `registry serve`. Each is a record in the store's metadata (its
 * repository, when it was last used) and a named content-store ingest (`upload-<id>`: hashed as
 * it grows) that PATCH requests append to and the final PUT commits under the digest the client
 * names — verified, so nothing a client sends is visible before that. The offset a session
 * reports is the bytes it really holds: a PATCH whose connection drops keeps what arrived, and
 * the client resumes from there (the upload status it asks for says where). A session outlives
 * the server process: after a restart it is opened again from its ingest (its bytes hashed once
 * more). Requests on one session run one at a time; a session unused for `idleMs` is dropped
 * with its bytes.
 */
import { randomBytes } from 'node:crypto';
import type { ContentStore, ContentWriter } from '../content/content.js';
import { type Db, writeTx } from '../metadata/db.js';
import { countUploads, deleteUpload, getUpload, putUpload, staleUploads, touchUpload } from '../metadata/registry.js';
import { ApiError } from './api.js';

interface Session {
  id: string;
  repo: string;
  writer: ContentWriter;
  /** The request working on it now, if any: the next waits for it. */
  busy: Promise<void>;
}

const refOf = (id: string): string => `upload-${id}`;

/** How long a session may sit unused before it is dropped with its bytes. */
export const UPLOAD_IDLE_MS = 15 * 60_000;

/**
 * Named ingests no upload session owns, unwritten for longer than a session may sit unused: the
 * bytes of a session whose record went with a process killed before it removed them (`system
 * check`). A session's own ingest is without its record only while its final PUT commits it —
 * moments, written to just before; the idle limit keeps that one out.
 */
export async function orphanUploadIngests(db: Db, content: ContentStore, now = Date.now()): Promise<string[]> {
  const out: string[] = [];
  for (const { ref, updatedAt } of await content.namedIngests()) {
    const id = ref.startsWith('upload-') ? ref.slice('upload-'.length) : undefined;
    if (id !== undefined && getUpload(db, id) !== undefined) continue;
    if (now - updatedAt > UPLOAD_IDLE_MS) out.push(ref);
  }
  return out;
}

export class UploadSessions {
  /** Sessions this process has open (their writers); the records are the truth. */
  private readonly open = new Map<string, Promise<Session>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly content: ContentStore,
    private readonly db: Db,
    private readonly idleMs = UPLOAD_IDLE_MS,
    /** At most this many sessions at once (a client that opens many is refused). */
    private readonly max = 1024,
  ) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, idleMs)).unref();
  }

  async start(repo: string): Promise<string> {
    const id = randomBytes(16).toString('hex');
    writeTx(this.db, () => {
      if (countUploads(this.db) >= this.max) throw new ApiError('TOOMANYREQUESTS', `${this.max} uploads are open`);
      putUpload(this.db, id, repo);
    });
    const writer = await this.content.writer({ ref: refOf(id) });
    this.open.set(id, Promise.resolve({ id, repo, writer, busy: Promise.resolve() }));
    return id;
  }

  /** Session `id` of `repo` (opened from its ingest if this process has not yet), or BLOB_UPLOAD_UNKNOWN. */
  private async get(repo: string, id: string): Promise<Session> {
    const rec = getUpload(this.db, id);
    if (!rec || rec.repo !== repo) throw new ApiError('BLOB_UPLOAD_UNKNOWN', `upload ${id}`);
    let s = this.open.get(id);
    if (!s) {
      s = this.content.writer({ ref: refOf(id) }).then((writer) => ({ id, repo, writer, busy: Promise.resolve() }));
      this.open.set(id, s);
    }
    return s;
  }

  /** Bytes the session holds. */
  async offset(repo: string, id: string): Promise<number> {
    const s = await this.get(repo, id);
    touchUpload(this.db, id);
    return s.writer.offset;
  }

  /**
   * Run `fn` on the session alone (requests on one session are serialised); `end()` forgets the
   * session (its commit or abort has consumed the ingest).
   */
  async with<T>(repo: string, id: string, fn: (writer: ContentWriter, end: () => void) => Promise<T>): Promise<T> {
    const s = await this.get(repo, id);
    const before = s.busy;
    let release!: () => void;
    s.busy = new Promise((r) => (release = r));
    await before;
    try {
      if (getUpload(this.db, id) === undefined) throw new ApiError('BLOB_UPLOAD_UNKNOWN', `upload ${id}`);
      touchUpload(this.db, id);
      return await fn(s.writer, () => this.forget(id));
    } finally {
      release();
    }
  }

  private forget(id: string): void {
    this.open.delete(id);
    writeTx(this.db, () => deleteUpload(this.db, id));
  }

  /** Drop session `id` and its bytes (DELETE of the upload). */
  async cancel(repo: string, id: string): Promise<void> {
    await this.with(repo, id, async (w, end) => {
      end();
      await w.abort();
    });
  }

  /** Drop sessions unused for longer than the limit (whichever process opened them). */
  async sweep(now = Date.now()): Promise<void> {
    for (const id of staleUploads(this.db, new Date(now - this.idleMs).toISOString())) {
      const s = this.open.get(id);
      this.forget(id);
      if (s) await (await s).writer.abort();
      else await this.content.dropIngest(refOf(id));
    }
  }

  /** Stop sweeping (the server stops); sessions stay, for the next server to resume. */
  close(): void {
    clearInterval(this.sweeper);
    this.open.clear();
  }
}
