/**
 * ADD's own behaviour, on top of COPY's (copy.ts), as Docker 20.10.24's BuildKit (v0.8:
 * dockerfile2llb's dispatchCopyFileOp, the FileOp's `unpack`, docker's pkg/archive and
 * chrootarchive, the http source) does it. Every rule below was checked against that docker
 * (see the commit that added it):
 *
 * Local sources (the build context, or a stage): each match of a source that is a regular
 * file (symlinks followed inside the source root) holding a tar archive — recognised by its
 * content, never its name: plain, or gzip, bzip2, xz or zstd compressed (magic numbers),
 * whose first header reads — is unpacked into the destination instead of copied (zstd as Docker
 * 23+ does; Docker 20.10's DecompressStream knew no zstd and copied the file). Anything else
 * (directories, other files, an empty tar) is copied as COPY copies it, in the sources' order.
 *
 * Unpacking (chrootarchive.Untar into the destination):
 * - the destination is always a directory, trailing `/` or not: resolved in the target root,
 *   its missing directories made 0755 and owned by --chown's user (else 0:0);
 * - entries keep the archive's owners (numeric), modes (setuid too), times and extended
 *   attributes: --chown and --chmod do not apply to them; directories the archive leaves
 *   out are made 0755, 0:0;
 * - what is there is replaced (a file, a symlink, a directory by a non-directory, recursively)
 *   and directories are merged (the archive's metadata applied);
 * - names are taken as Docker's chroot takes them: a leading `/` and `..` above the top stay
 *   inside the destination (`../up` lands as `up`); `./` is left out (the destination keeps
 *   its metadata); symlinks keep their targets as written, never followed while unpacking;
 *   hard link targets are read from the destination;
 * - refused, where Docker would write something cairn cannot keep faithfully: a name whose
 *   last component begins with `.wh.` (Docker writes a plain file there, which its own layer
 *   then carries as a whiteout), an entry below a symlink that leads out of the destination
 *   (Docker, chrooted, would follow it inside the destination).
 * Writing goes through the layer applier (layer/apply.ts: fd-relative, openat2
 * RESOLVE_BENEATH, nothing written outside the destination, never through a symlink that
 * leaves it). gzip is decoded by node:zlib; bzip2 and xz by the system's `bzip2 -dc` / `xz
 * -dc` as streaming filters (docker itself runs `xz -d -c -q`; Node has no decoder and no
 * well-kept npm library was worth a dependency). Nothing is held whole in memory; a
 * decompression limit guards against bombs.
 *
 * URLs (`http://`, `https://`): downloaded before anything is written (as BuildKit fetches
 * them while computing the cache key), streamed to a scratch file with its digest computed on
 * the way, then copied like a local file (never unpacked, unless `--unpack=true`):
 * - the file name is the base of the URL's path (decoded; `__unnamed__` when there is none),
 *   so `dest/` or an existing directory gets dest/<name>, any other dest is the file itself;
 * - mode 0600 (--chmod does not apply, as in BuildKit v0.8), owner 0:0 or --chown's,
 *   mtime the `Last-Modified` header's (the epoch when there is none or it does not parse);
 * - redirects are followed (at most 10), any status below 200 or from 400 fails with the URL
 *   and the status, as does a connection that fails or ends early;
 * - `--checksum=ALG:HEX` (newer BuildKit; sha256, sha384, sha512) is verified against the
 *   digest computed while streaming: a mismatch fails naming the URL and both digests.
 */
import { applyRewritten, renamedHeader } from '../container/untar.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { CairnError, DataCorruptError, InvalidArgumentError, NotFoundError, PreconditionError, UnsupportedError, errnoCode } from '../errors.js';
import { CompressedDataError } from '../compression/errors.js';
import { decompressStream } from '../compression/stream.js';
import { PatternMatcher } from '../dockerfile/dockerignore.js';
import { DEFAULT_DECOMPRESS_LIMIT } from '../layer/apply.js';
import { closeFd } from '../layer/walk.js';
import { constants as C, fchmodat, fchownat, fstatat, openat2 } from '../native/index.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import { TarReader, type TarHeader, type TarWriteHeader } from '../tar/index.js';
import { copyInto, destinationPath, type CopyIntoOptions, type CopyResult } from './copy.js';
import { resolveChown, type Owner } from './copy-owner.js';
import { SourceTree, isDir, matchSource, type SourceMatch } from './copy-source.js';

/** A directory ADD may download into, removed by `dispose`. */
export interface Scratch {
  path: string;
  dispose: () => Promise<void>;
}

/** What {@link addInto} adds, and where: COPY's options, and ADD's own. */
export interface AddIntoOptions extends CopyIntoOptions {
  /** --checksum as written (`sha256:HEX`): only for a single URL source (the Dockerfile planner checks that). */
  checksum?: string;
  /** --unpack: undefined is BuildKit's default (local archives unpacked, URLs not); false never, true also a URL's. */
  unpack?: boolean;
  /** Where downloads go (on the store's file system, not /tmp); default a new directory in the OS temp dir. */
  scratch?: () => Promise<Scratch>;
  /** A connection, or a pause in a download, longer than this fails it; default 5 minutes. */
  httpTimeoutMs?: number;
  /** Most bytes an archive may unpack to; default the layer applier's (64 GiB). */
  decompressLimit?: number;
}

/** One archive unpacked. */
export interface UnpackedArchive {
  /** The source as matched ('/app.tar.gz'), or the URL. */
  source: string;
  /** The directory it was unpacked into, in the target root. */
  dest: string;
  format: ArchiveFormat;
  /** Tar entries read. */
  entries: number;
  /** Bytes of the uncompressed tar. */
  bytes: number;
}

/** One URL downloaded. */
export interface DownloadedFile {
  url: string;
  /** The file's name as copied (`file.txt`, or `__unnamed__`). */
  name: string;
  /** Its digest, in the --checksum's algorithm (sha256 by default). */
  digest: string;
  size: number;
}

/** What {@link addInto} did: what COPY's rules copied, what was unpacked, what was downloaded. */
export interface AddResult extends CopyResult {
  archives: UnpackedArchive[];
  downloads: DownloadedFile[];
}

/** The compressions docker 20.10 recognises by magic number when it decides a file is an archive. */
export type ArchiveFormat = 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** A URL that could not be downloaded: its status, or why the connection failed. */
export class DownloadError extends CairnError {
  readonly url: string;
  /** The HTTP status, when there was one. */
  readonly status: number | undefined;
  constructor(url: string, reason: string, status?: number, options?: { cause?: unknown }) {
    super(status === 404 || status === 410 ? 'not-found' : status === 401 || status === 403 ? 'permission' : 'internal', `failed to download ${url}: ${reason}`, options);
    this.name = 'DownloadError';
    this.url = url;
    this.status = status;
  }
}

/** A download whose digest is not the --checksum given. */
export class ChecksumMismatchError extends DataCorruptError {
  constructor(url: string, expected: string, actual: string) {
    super(`checksum mismatch for ${url}: expected ${expected}, got ${actual}`);
    this.name = 'ChecksumMismatchError';
  }
}

/** Newest BuildKit's words for the URL's name when its path has none. */
const UNNAMED = '__unnamed__';
const MAX_REDIRECTS = 10;
const DEFAULT_HTTP_TIMEOUT = 5 * 60 * 1000;
const CHECKSUM_ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

/** A source as dockerfile2llb tells them apart. */
function isUrl(source: string): boolean {
  return source.startsWith('http://') || source.startsWith('https://');
}

function isGit(source: string): boolean {
  return /^(git@|git:\/\/|ssh:\/\/)/.test(source) || (isUrl(source) && /\.git(#.*)?$/.test(source));
}

/**
 * ADD `sources` into `targetRoot` at `dest` (see the module comment). Local sources are
 * resolved and URLs downloaded first (a missing source or a failed download writes nothing),
 * then each source is added in order.
 */
export async function addInto(opts: AddIntoOptions): Promise<AddResult> {
  const result: AddResult = { entries: [], bytes: 0, skipped: [], archives: [], downloads: [] };
  for (const s of opts.sources) if (isGit(s)) throw new UnsupportedError(`ADD from a git repository is not supported: ${s}`);
  const ignore = opts.fromContext && (opts.dockerignore?.length ?? 0) > 0 ? new PatternMatcher(opts.dockerignore!) : undefined;
  const tree = new SourceTree(opts.sourceRoot, ignore);
  const local = new Map<string, SourceMatch[]>();
  for (const s of opts.sources) if (!isUrl(s) && !local.has(s)) local.set(s, matchSource(tree, s));
  const urls = opts.sources.filter(isUrl);
  let scratch: Scratch | undefined;
  try {
    const downloads: Array<DownloadedFile & { dir: string }> = [];
    if (urls.length > 0) {
      scratch = await (opts.scratch ?? tempScratch)();
      for (const [i, url] of urls.entries()) {
        const dir = join(scratch.path, String(i));
        mkdirSync(dir);
        const d = await download(url, dir, { timeoutMs: opts.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT, ...(opts.checksum !== undefined ? { checksum: opts.checksum } : {}) });
        downloads.push({ ...d, dir });
        result.downloads.push(d);
      }
    }
    const dest = destinationPath(opts.dest, opts.workdir);
    const copyOpts = (sourceRoot: string, sources: string[], fromContext: boolean): CopyIntoOptions => {
      const o: CopyIntoOptions = { sourceRoot, fromContext, sources, dest: opts.dest, workdir: opts.workdir, targetRoot: opts.targetRoot };
      if (opts.chown !== undefined) o.chown = opts.chown;
      if (fromContext === opts.fromContext && sourceRoot === opts.sourceRoot) {
        if (opts.chmod !== undefined) o.chmod = opts.chmod;
        if (opts.dockerignore !== undefined) o.dockerignore = opts.dockerignore;
        if (opts.excludes !== undefined) o.excludes = opts.excludes;
      }
      return o;
    };
    let nextDownload = 0;
    for (const source of opts.sources) {
      if (isUrl(source)) {
        const d = downloads[nextDownload++]!;
        const host = join(d.dir, d.name);
        const format = opts.unpack === true ? await archiveFormat(host) : undefined;
        if (format !== undefined) {
          result.archives.push(await unpackInto(opts, host, source, format, dest));
        } else {
          // The scratch directory holds this file only: a pattern of it with `?` for its wildcard characters names it alone.
          merge(result, await copyInto(copyOpts(d.dir, [d.name.replace(/[*?[\\]/g, '?')], false)));
        }
        continue;
      }
      const matches = local.get(source)!;
      const formats = opts.unpack === false ? matches.map(() => undefined) : await Promise.all(matches.map((m) => (isRegular(m) ? archiveFormat(m.resolved.hostPath) : undefined)));
      if (formats.every((f) => f === undefined)) {
        merge(result, await copyInto(copyOpts(opts.sourceRoot, [source], opts.fromContext)));
        continue;
      }
      for (const [i, m] of matches.entries()) {
        const format = formats[i];
        if (format !== undefined) {
          result.archives.push(await unpackInto(opts, m.resolved.hostPath, m.path, format, dest));
          continue;
        }
        if (/[*?[\\]/.test(m.path)) {
          throw new UnsupportedError(`cannot ADD ${JSON.stringify(m.path)} beside the archives ${JSON.stringify(source)} matches: its name holds wildcard characters`);
        }
        merge(result, await copyInto(copyOpts(opts.sourceRoot, [m.path], opts.fromContext)));
      }
    }
  } finally {
    await scratch?.dispose();
  }
  return result;
}

function merge(into: AddResult, r: CopyResult): void {
  into.entries.push(...r.entries);
  into.bytes += r.bytes;
  into.skipped.push(...r.skipped);
}

function isRegular(m: SourceMatch): boolean {
  return (m.resolved.stat.mode & C.S_IFMT) === C.S_IFREG;
}

async function tempScratch(): Promise<Scratch> {
  const path = await fsp.mkdtemp(join(tmpdir(), 'cairn-add-'));
  return { path, dispose: () => fsp.rm(path, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------
// Archives

/** docker 20.10's DetectCompression: bzip2, gzip and xz by their magic numbers, anything else as a plain tar. */
export function detectArchiveCompression(head: Uint8Array): ArchiveFormat {
  const starts = (m: number[]) => head.length >= m.length && m.every((b, i) => head[i] === b);
  if (starts([0x42, 0x5a, 0x68])) return 'bzip2';
  if (starts([0x1f, 0x8b, 0x08])) return 'gzip';
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  // cairn: zstd too, as Docker 23+ does (20.10's DecompressStream knew no zstd and copied the file).
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  return 'tar';
}

/**
 * Whether the regular file at `host` is an archive ADD unpacks, and in which format: its
 * content decompresses and its first tar header reads (BuildKit's isArchivePath). A file that
 * does not is no archive (undefined); a file that cannot be read is an error.
 */
export async function archiveFormat(host: string): Promise<ArchiveFormat | undefined> {
  const head = Buffer.alloc(10);
  let got: number;
  const fd = system(host, 'read', () => openSync(host, 'r'));
  try {
    got = system(host, 'read', () => readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
  const format = detectArchiveCompression(head.subarray(0, got));
  const input = createReadStream(host);
  const decoded = await decoder(format, input, undefined);
  try {
    for await (const entry of new TarReader(decoded, { drainTrailing: false })) {
      void entry;
      return format;
    }
    return undefined; // no entry at all: an empty tar is copied
  } catch (e) {
    // Bytes that do not decompress, or whose first header does not read: not an archive (Go's
    // tar reader fails the same way). An entry cairn's reader cannot take (a GNU sparse file)
    // is one Go reads: an archive, whose unpacking then fails saying why.
    if (e instanceof UnsupportedError) return format;
    if (e instanceof DataCorruptError || e instanceof CompressedDataError) return undefined;
    throw e;
  } finally {
    input.destroy();
    await decoded[Symbol.asyncIterator]().return?.();
  }
}

/** The decompressed bytes of `input` in `format`, at most `limit` of them. */
async function decoder(format: ArchiveFormat, input: Readable, limit: number | undefined): Promise<AsyncIterable<Buffer>> {
  switch (format) {
    case 'tar':
      return input as AsyncIterable<Buffer>;
    case 'gzip':
    case 'zstd': {
      const { stream } = await decompressStream(input, { expect: format, ...(limit !== undefined ? { limit } : {}) });
      return stream as AsyncIterable<Buffer>;
    }
    case 'bzip2':
      return filter('bzip2', ['-d', '-c', '-q'], input, limit);
    case 'xz':
      return filter('xz', ['-d', '-c', '-q'], input, limit);
  }
}

/**
 * The output of `program args` fed `input`: a streaming filter in a child process. Its exit
 * status is checked at the end (a failure is a CompressedDataError with its first line of
 * stderr); stopping early kills it.
 */
async function* filter(program: string, args: string[], input: Readable, limit: number | undefined): AsyncGenerator<Buffer, void, undefined> {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  // The child may stop reading (it failed, or it was killed when we stopped): EPIPE then is not the error.
  let feedError: Error | undefined;
  child.stdin.on('error', (e) => {
    if (errnoCode(e) !== 'EPIPE') feedError = e;
  });
  input.on('error', (e) => {
    feedError = e;
    child.stdin.destroy();
  });
  input.pipe(child.stdin);
  let done = false;
  let total = 0;
  try {
    for await (const chunk of child.stdout) {
      const b = chunk as Buffer;
      total += b.length;
      if (limit !== undefined && total > limit) throw new CompressedDataError(`decompression limit of ${limit} bytes exceeded`);
      yield b;
    }
    const end = await exited;
    done = true;
    if (end.error !== undefined) {
      if (errnoCode(end.error) === 'ENOENT') throw new UnsupportedError(`cannot decompress ${program} data: the ${program} program is not installed`);
      throw new CairnError('internal', `cannot run ${program}: ${end.error.message}`, { cause: end.error });
    }
    if (feedError !== undefined) throw feedError;
    if (end.code !== 0) {
      const line = stderr.trim().split('\n')[0] ?? '';
      throw new CompressedDataError(line === '' ? `${program}: exit status ${end.code}` : line.startsWith(`${program}:`) ? line : `${program}: ${line}`);
    }
  } finally {
    if (!done) {
      child.kill('SIGKILL');
      input.unpipe(child.stdin);
      child.stdin.destroy();
      await exited;
    }
  }
}

/**
 * copy.MkdirAll of the destination directory: resolved in the target root, each missing
 * directory made 0755 and given --chown's owner. Returns its resolved path.
 */
function makeDestination(targetRoot: string, dest: string, owner: Owner | undefined): string {
  const resolved = resolveInRoot(targetRoot, dest).path;
  const parts = resolved.split('/').filter((p) => p !== '');
  for (let i = 0; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const host = p === '/' ? targetRoot : posix.join(targetRoot, p);
    let st;
    try {
      st = fstatat(C.AT_FDCWD, host, C.AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw new CairnError('internal', `cannot stat ${p}: ${(e as Error).message}`, { cause: e });
    }
    if (st !== undefined) {
      if (!isDir(st)) throw new PreconditionError(`mkdir ${p}: not a directory`);
      continue;
    }
    system(p, 'mkdir', () => {
      mkdirSync(host, { mode: 0o755 });
      fchmodat(C.AT_FDCWD, host, 0o755, 0);
      if (owner !== undefined) fchownat(C.AT_FDCWD, host, owner.uid, owner.gid, C.AT_SYMLINK_NOFOLLOW);
    });
  }
  return resolved;
}

/** Unpack the archive at `host` (named `source` in messages) into the destination directory. */
async function unpackInto(opts: AddIntoOptions, host: string, source: string, format: ArchiveFormat, dest: string): Promise<UnpackedArchive> {
  const owner = opts.chown !== undefined && opts.chown !== '' ? resolveChown(opts.targetRoot, opts.chown) : undefined;
  const dir = makeDestination(opts.targetRoot, dest.endsWith('/') ? dest.slice(0, -1) || '/' : dest, owner);
  const rootFd = system(opts.targetRoot, 'open', () => openSync(opts.targetRoot, C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC));
  let dirFd: number;
  try {
    dirFd = system(dir, 'open', () => openat2(rootFd, dir === '/' ? '.' : dir.slice(1), C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, 0, C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS));
  } finally {
    closeFd(rootFd);
  }
  try {
    const input = createReadStream(host);
    const decoded = await decoder(format, input, opts.decompressLimit ?? DEFAULT_DECOMPRESS_LIMIT);
    const r = await untar(dirFd, decoded, source);
    return { source, dest: dir, format, entries: r.entries, bytes: r.uncompressedSize };
  } catch (e) {
    // Corrupt data, found by the decoder or the tar reader: said with the archive's name.
    if (e instanceof DataCorruptError && !e.message.includes(source)) throw new DataCorruptError(`cannot unpack ${source}: ${e.message}`, { cause: e });
    throw e;
  } finally {
    closeFd(dirFd);
  }
}

/** The archive's entries, renamed as Docker's chroot sees them, applied to the directory open as `dirFd`. */
async function untar(dirFd: number, decoded: AsyncIterable<Buffer>, source: string): Promise<{ entries: number; uncompressedSize: number }> {
  try {
    const r = await applyRewritten(dirFd, decoded, (h) => rewrite(h, source), { what: `archive ${source}`, followSymlinks: 'inside' });
    return { entries: r.entries, uncompressedSize: r.uncompressedSize };
  } finally {
    await decoded[Symbol.asyncIterator]().return?.();
  }
}

/**
 * A path of the archive as Docker's Unpack, chrooted into the destination, resolves it: clean,
 * from the root, `..` stopping there. '' is the destination itself.
 */
function inRoot(latin1: string): string {
  return posix.normalize(`/${latin1}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

const text = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8');

/** The entry as the applier gets it, or null to leave it out (see the module comment). */
function rewrite(h: TarHeader, source: string): TarWriteHeader | null {
  const raw = (h.nameBytes ?? Buffer.from(h.name, 'utf8')).toString('latin1');
  const name = inRoot(raw);
  if (name === '') {
    // `./` is skipped; any other name of the root (`/`, `../`) merges its metadata into it, as Docker does.
    if (posix.normalize(raw).replace(/\/+$/, '') === '.' || raw === '') return null;
    if (h.type !== 'dir') throw new DataCorruptError(`cannot unpack ${source}: entry ${JSON.stringify(text(raw))} names the destination but is not a directory`);
  } else if (posix.basename(name).startsWith('.wh.')) {
    throw new DataCorruptError(`cannot unpack ${source}: entry ${JSON.stringify(text(raw))}: cairn would read a name beginning with ".wh." as a whiteout`);
  }
  const out = renamedHeader(h, name === '' ? './' : name);
  const link = (h.linknameBytes ?? Buffer.from(h.linkname, 'utf8')).toString('latin1');
  if (h.type === 'hardlink') {
    const target = inRoot(link);
    if (target === '') throw new DataCorruptError(`cannot unpack ${source}: hard link ${JSON.stringify(text(raw))} names the destination directory`);
    out.linkname = text(target);
    out.linknameBytes = Buffer.from(target, 'latin1');
  } else if (h.type === 'symlink') {
    out.linkname = text(link);
    out.linknameBytes = Buffer.from(link, 'latin1');
  }
  return out;
}

// ---------------------------------------------------------------------------
// URLs

/** BuildKit's file name for a URL: the base of its (decoded) path, or `__unnamed__`. */
export function urlFileName(url: string): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return UNNAMED; // Go's url.Parse fails on the same malformed escapes: dockerfile2llb names it so
  }
  const base = posix.basename(path);
  return base === '' || base === '.' || base === '/' || base === '..' ? UNNAMED : base;
}

/** Parse --checksum: `ALG:HEX` with a supported algorithm. */
function parseChecksum(checksum: string): { algorithm: string; hex: string } {
  const i = checksum.indexOf(':');
  const algorithm = i < 0 ? '' : checksum.slice(0, i);
  const hex = checksum.slice(i + 1);
  if (!CHECKSUM_ALGORITHMS.has(algorithm)) throw new UnsupportedError(`unsupported checksum algorithm in ${JSON.stringify(checksum)} (sha256, sha384 and sha512 are)`);
  const len = algorithm === 'sha256' ? 64 : algorithm === 'sha384' ? 96 : 128;
  if (!new RegExp(`^[0-9a-f]{${len}}$`).test(hex)) throw new InvalidArgumentError(`invalid checksum digest format: ${checksum}`);
  return { algorithm, hex };
}

/**
 * Download `url` into `dir` as BuildKit's http source saves it (see the module comment):
 * streamed to `dir/<name>`, mode 0600, 0:0, mtime from `Last-Modified`. Throws
 * {@link DownloadError} or {@link ChecksumMismatchError}.
 */
export async function download(url: string, dir: string, opts: { checksum?: string; timeoutMs?: number } = {}): Promise<DownloadedFile> {
  const want = opts.checksum !== undefined ? parseChecksum(opts.checksum) : undefined;
  const name = urlFileName(url);
  const res = await fetchFollowing(url, opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT);
  const file = join(dir, name);
  const hash = createHash(want?.algorithm ?? 'sha256');
  let size = 0;
  const fh = await system(file, 'create', () => fsp.open(file, 'wx', 0o600));
  try {
    try {
      for await (const chunk of res) {
        const b = chunk as Buffer;
        hash.update(b);
        size += b.length;
        await system(file, 'write', () => fh.write(b));
      }
    } catch (e) {
      if (e instanceof CairnError) throw e;
      throw new DownloadError(url, `the connection failed after ${size} bytes: ${(e as Error).message}`, undefined, { cause: e });
    }
  } finally {
    await fh.close();
  }
  const digest = `${want?.algorithm ?? 'sha256'}:${hash.digest('hex')}`;
  if (want !== undefined && digest !== `${want.algorithm}:${want.hex}`) {
    await fsp.rm(file, { force: true });
    throw new ChecksumMismatchError(url, `${want.algorithm}:${want.hex}`, digest);
  }
  const lastModified = res.headers['last-modified'];
  const ms = lastModified !== undefined ? Date.parse(lastModified) : NaN;
  const mtime = new Date(Number.isNaN(ms) ? 0 : ms);
  await system(file, 'set the metadata of', async () => {
    await fsp.chmod(file, 0o600);
    await fsp.lchown(file, 0, 0);
    await fsp.utimes(file, mtime, mtime);
  });
  return { url, name, digest, size };
}

/** GET `url`, following redirects as Go's client does; a status below 200 or from 400 is a DownloadError. */
async function fetchFollowing(url: string, timeoutMs: number): Promise<http.IncomingMessage> {
  let at: URL;
  try {
    at = new URL(url);
  } catch (e) {
    throw new DownloadError(url, 'not a valid URL', undefined, { cause: e });
  }
  for (let hops = 0; ; hops++) {
    const res = await get(url, at, timeoutMs);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location !== undefined) {
      res.resume();
      if (hops + 1 >= MAX_REDIRECTS) throw new DownloadError(url, `stopped after ${MAX_REDIRECTS} redirects`);
      try {
        at = new URL(location, at);
      } catch (e) {
        throw new DownloadError(url, `redirected to an invalid location ${JSON.stringify(location)}`, undefined, { cause: e });
      }
      if (at.protocol !== 'http:' && at.protocol !== 'https:') throw new DownloadError(url, `redirected to an unsupported location ${at.href}`);
      continue;
    }
    if (status < 200 || status >= 400) {
      res.resume();
      throw new DownloadError(url, `invalid response status ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, status);
    }
    return res;
  }
}

function get(url: string, at: URL, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = at.protocol === 'https:' ? https : http;
    const req = mod.get(at, { headers: { 'user-agent': 'cairn', 'accept-encoding': 'identity' } }, resolve);
    req.setTimeout(timeoutMs, () => req.destroy(new DownloadError(url, `no data for ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', (e) => reject(e instanceof DownloadError ? e : new DownloadError(url, e.message, undefined, { cause: e })));
  });
}

/** Run `fn`; a system error becomes a one-line CairnError naming `what` it did and `path`. */
function system<T>(path: string, what: string, fn: () => T): T {
  const wrap = (e: unknown): CairnError => {
    if (e instanceof CairnError) return e;
    if (errnoCode(e) === 'ENOENT' && what === 'read') return new NotFoundError(`cannot read ${path}: no such file`, { cause: e });
    return new CairnError('internal', `cannot ${what} ${path}: ${(e as Error).message}`, { cause: e });
  };
  try {
    const r = fn();
    if (r instanceof Promise) {
      return r.catch((e: unknown) => {
        throw wrap(e);
      }) as T;
    }
    return r;
  } catch (e) {
    throw wrap(e);
  }
}
