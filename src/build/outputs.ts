/**
 * `--output` / `-o` of a build (BuildKit's exporters, as `docker build` 20.10 and buildx name
 * them): where the result goes instead of the image store.
 *
 * - `type=local,dest=DIR` (and the short `-o DIR`): the target stage's root filesystem written
 *   as files into DIR (made if missing), owners, modes, times and xattrs kept; extracted with
 *   the safe extractor (container/untar.ts), never outside DIR.
 * - `type=tar,dest=FILE|-` (and `-o -`): the same root filesystem as one tar (as `export`
 *   writes a container's: layer/diff.ts archiveTree).
 * - `type=docker[,dest=FILE][,name=N]`: a docker-archive of the image (archive/sink.ts, as
 *   `save` writes one); without dest the image is loaded, i.e. stored and tagged as without
 *   --output. `type=oci[,dest=FILE]`: an oci-archive (stdout without dest, as buildx).
 * - `type=image` / `type=moby`: the image stored (the default); `type=cacheonly`: nothing.
 *
 * An export stores no image record and no tag: the layers the steps made stay in the build
 * cache only. Everything streams: a layer is never held in memory.
 */
import { withChainView } from './layer.js';
import { createWriteStream, openSync, constants as fsc, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { finished, pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { ArchiveSink } from '../archive/sink.js';
import { untarInto } from '../container/untar.js';
import { readCsvRecord } from '../container/csv.js';
import type { Digest } from '../digest/digest.js';
import { digestOf } from '../digest/digest.js';
import { CairnError, InvalidArgumentError, errnoCode } from '../errors.js';
import type { LayerForImage } from '../image/commit.js';
import { layerBlob } from '../image/layertar.js';
import { getLayer } from '../metadata/records.js';
import { layerRef, type Ref } from '../metadata/refs.js';
import { chainIds } from '../oci/chainid.js';
import { parseMediaType } from '../oci/mediatypes.js';
import type { ImageConfig, ImageManifest } from '../oci/types.js';
import { archiveTree, treeReleased } from '../layer/diff.js';
import { closeFd } from '../layer/walk.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { copyImages } from '../transfer/copy.js';
import type { ImageSource, LayerDescriptor, SourceImage } from '../transfer/types.js';
import type { BuildProgress } from './progress.js';

/** Where an export's bytes go: a file path, or a stream (the CLI's stdout for `dest=-`). */
export type OutputTarget = { path: string } | { stream: NodeJS.WritableStream };

/** An `--output` that is not the image store. */
export type BuildOutput =
  | { type: 'local'; dest: string }
  | { type: 'tar'; to: OutputTarget }
  | { type: 'docker' | 'oci'; to: OutputTarget; names: string[] }
  | { type: 'cacheonly' };

/** What `--output` asks for: an export, or the image stored (with names to add to the tags). */
export type OutputRequest = { export: BuildOutput } | { store: { names: string[] } };

/** The parts of an `--output` value before they are checked: type and attributes (Docker's parseOutputs). */
interface OutputSpec {
  type: string;
  attrs: Map<string, string>;
}

/** One `--output` value as Docker's CLI reads it: CSV `key=value` fields, or a bare path (`-`: a tar on stdout). */
function readSpec(s: string): OutputSpec {
  let fields: string[];
  try {
    fields = readCsvRecord(s);
  } catch (e) {
    throw new InvalidArgumentError(`failed to parse outputs: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (fields.length === 1 && fields[0] === s && !s.startsWith('type=')) {
    return { type: s === '-' ? 'tar' : 'local', attrs: new Map([['dest', s]]) };
  }
  const attrs = new Map<string, string>();
  let type = '';
  for (const field of fields) {
    const i = field.indexOf('=');
    if (i < 0) throw new InvalidArgumentError(`failed to parse outputs: invalid value ${field}`);
    const key = field.slice(0, i).toLowerCase();
    if (key === 'type') type = field.slice(i + 1);
    else attrs.set(key, field.slice(i + 1));
  }
  if (type === '') throw new InvalidArgumentError('failed to parse outputs: type is required for output');
  return { type, attrs };
}

/** The names an image export carries: the tags when given (buildx fills `name` from them), else `name=`. */
function imageNames(attrs: Map<string, string>, tags: readonly string[]): string[] {
  const given = tags.length > 0 ? [...tags] : (attrs.get('name') ?? '').split(',').filter((n) => n !== '');
  return given.map((n) => {
    const ref = withDefaultTag(parseNormalizedReference(n));
    if (ref.digest) throw new InvalidArgumentError(`invalid output name ${JSON.stringify(n)}: a name cannot hold a digest`);
    return ref.toString();
  });
}

/** Refuse attributes cairn does not implement rather than ignore them. */
function checkAttrs(type: string, attrs: Map<string, string>, known: string[]): void {
  for (const [k, v] of attrs) {
    if (known.includes(k)) continue;
    if (k === 'compression' && v === 'uncompressed') continue;
    if (k === 'tar' && v === 'true') continue;
    throw new InvalidArgumentError(`output type=${type}: ${k}=${v} is not supported`);
  }
}

/**
 * The `--output` values of a build (none: undefined, the image is stored). `stdout` is where
 * `dest=-` goes; `isTerminal` whether it is a terminal (an archive is never written to one).
 * Errors in Docker 20.10's words (its CLI and daemon), buildx's for the types 20.10 lacks.
 */
export function parseOutputs(values: readonly string[], tags: readonly string[], stdout: { stream: NodeJS.WritableStream; isTerminal: boolean }): OutputRequest | undefined {
  if (values.length === 0) return undefined;
  const specs = values.map(readSpec);
  if (specs.length > 1) throw new InvalidArgumentError('multiple outputs not supported');
  const { type, attrs } = specs[0]!;
  const target = (what: string, dest: string | undefined): OutputTarget => {
    if (dest === undefined || dest === '-') {
      if (stdout.isTerminal) throw new InvalidArgumentError(what === 'tar' ? 'refusing to write output to console' : `dest file is required for ${what} exporter. refusing to write to console`);
      return { stream: stdout.stream };
    }
    return { path: dest };
  };
  switch (type) {
    case 'local': {
      checkAttrs(type, attrs, ['dest']);
      const dest = attrs.get('dest');
      if (dest === undefined || dest === '') throw new InvalidArgumentError('dest is required for local output');
      return { export: { type: 'local', dest } };
    }
    case 'tar': {
      checkAttrs(type, attrs, ['dest']);
      const dest = attrs.get('dest');
      if (dest === undefined || dest === '') throw new InvalidArgumentError('dest is required for tar output');
      return { export: { type: 'tar', to: target('tar', dest) } };
    }
    case 'docker': {
      checkAttrs(type, attrs, ['dest', 'name']);
      const names = imageNames(attrs, tags);
      const dest = attrs.get('dest');
      if (dest === undefined || dest === '') return { store: { names } };
      return { export: { type: 'docker', to: target('docker', dest), names } };
    }
    case 'oci': {
      checkAttrs(type, attrs, ['dest', 'name']);
      const dest = attrs.get('dest');
      return { export: { type: 'oci', to: target('oci', dest === '' ? undefined : dest), names: imageNames(attrs, tags) } };
    }
    case 'image':
    case 'moby': {
      checkAttrs(type, attrs, ['name']);
      return { store: { names: imageNames(attrs, tags) } };
    }
    case 'cacheonly':
      checkAttrs(type, attrs, []);
      return { export: { type: 'cacheonly' } };
    default:
      throw new InvalidArgumentError(`exporter ${JSON.stringify(type)} could not be found`);
  }
}

/** The built image as an export needs it: its documents and layers, and the chain its files are. */
export interface BuiltForExport {
  configRaw: Buffer;
  config: ImageConfig;
  manifestRaw: Buffer;
  manifest: ImageManifest;
  manifestMediaType: string;
  layers: LayerForImage[];
  chainId: Digest | undefined;
}

/** Write the build result to `output` (see the module comment); what it reads is leased with `protect`. */
export async function exportBuild(store: Store, output: BuildOutput, image: BuiltForExport, protect: (ref: Ref) => void, progress: BuildProgress): Promise<void> {
  if (output.type === 'cacheonly') return;
  const v = progress.start({ name: output.type === 'local' || output.type === 'tar' ? `exporting to client` : `exporting to ${output.type} image format` });
  try {
    switch (output.type) {
      case 'local':
        await withChainView(store, image.chainId, protect, (root) => writeLocal(root, output.dest));
        v.status('copying files done');
        break;
      case 'tar':
        await withChainView(store, image.chainId, protect, (root) => writeTo(output.to, (out) => pipeTree(root, out)));
        v.status('sending tarball done');
        break;
      case 'docker':
      case 'oci': {
        const format = output.type === 'docker' ? 'docker-archive' : 'oci-archive';
        await writeTo(output.to, async (out) => {
          const sink = new ArchiveSink(format, out);
          // The sink's tar waits for room that a failed output never makes: abandoning it ends the copy (and its layer reads).
          let abortError: unknown;
          out.once('error', () => {
            sink.abort().catch((e: unknown) => {
              abortError ??= e;
            });
          });
          await copyImages(new BuiltImageSource(store, image, output.names, protect), sink);
          if (abortError !== undefined) throw abortError;
        });
        v.status(`exporting config ${digestOf(image.configRaw)} done`);
        v.status('sending tarball done');
        break;
      }
    }
  } catch (e) {
    v.error(e instanceof Error ? e.message : String(e));
    throw e;
  }
  v.done();
}

/** Run `write` on the output's stream: a file created (truncated) and closed afterwards, or the given stream (left open). */
async function writeTo(to: OutputTarget, write: (out: NodeJS.WritableStream) => Promise<void>): Promise<void> {
  if ('stream' in to) {
    // A stream that is not ended here (stdout: never ended by a pipe) behind one that is, so that a writer can wait for its 'finish'.
    // Its failure (EPIPE: the reader went away) fails the export, which then unmounts what it read.
    const target = to.stream;
    const w = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (target.write(chunk)) cb();
        else target.once('drain', () => cb());
      },
    });
    let targetError: Error | undefined;
    const failed = (e: Error): void => {
      targetError ??= e;
      w.destroy(e);
    };
    target.on('error', failed);
    try {
      await write(w);
      if (!w.writableEnded) w.end();
      await finished(w);
    } catch (e) {
      throw outputError(targetError ?? e);
    } finally {
      target.off('error', failed);
    }
    return;
  }
  let file: WriteStream;
  try {
    file = createWriteStream(to.path);
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', reject);
    });
  } catch (e) {
    throw new InvalidArgumentError(`failed to open ${to.path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  let fileError: Error | undefined;
  file.once('error', (e) => {
    fileError ??= e;
  });
  try {
    try {
      await write(file);
    } finally {
      if (!file.writableEnded) file.end();
    }
    await finished(file);
  } catch (e) {
    throw outputError(fileError ?? e, to.path);
  }
}

/** An output's failure as one line: the output's own error (EPIPE, ENOSPC) rather than what it caused downstream. */
function outputError(e: unknown, path?: string): unknown {
  if (e instanceof CairnError) return e;
  const code = errnoCode(e);
  if (code === undefined) return e;
  return new InvalidArgumentError(`failed to write the output${path !== undefined ? ` ${path}` : ''}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** A tar of the tree at `root` written to `out` (and `out` ended), with back-pressure; the tree is released before this returns. */
async function pipeTree(root: string, out: NodeJS.WritableStream): Promise<void> {
  const tar: Readable = archiveTree(root, null, { sourceDateEpoch: null });
  try {
    await pipeline(tar, out);
  } finally {
    tar.destroy();
    await treeReleased(tar);
  }
}

/** The files of `root` written into directory `dest` (made with its parents when missing), never outside it. */
async function writeLocal(root: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  let fd: number;
  try {
    fd = openSync(dest, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (e) {
    if (errnoCode(e) === 'ENOTDIR') throw new InvalidArgumentError(`failed to export to ${dest}: not a directory`);
    throw e;
  }
  const tar: Readable = archiveTree(root, null, { sourceDateEpoch: null });
  try {
    await untarInto(fd, tar, { dest });
  } finally {
    closeFd(fd);
    tar.destroy();
    await treeReleased(tar);
  }
}


/**
 * The built image as a transfer source (transfer/types.ts), never stored as an image: its
 * documents as the build made them, each layer's bytes as the store keeps them (a base image's
 * blob) or re-emitted from its snapshot and tar-split record (a step's layer).
 */
class BuiltImageSource implements ImageSource {
  readonly verified = true;
  private readonly byDigest = new Map<Digest, { chainId: Digest; diffId: Digest; tarSplit: Digest | null }>();

  constructor(
    private readonly store: Store,
    private readonly image: BuiltForExport,
    private readonly names: string[],
    private readonly protect: (ref: Ref) => void,
  ) {}

  async images(): Promise<SourceImage[]> {
    const img = this.image;
    const chains = chainIds(img.layers.map((l) => l.diffId));
    const layers: LayerDescriptor[] = img.layers.map((l, i) => {
      const chainId = chains[i]!;
      this.protect(layerRef(chainId));
      const tarSplit = l.tarSplit ?? getLayer(this.store.db, chainId)?.tarSplit ?? null;
      this.byDigest.set(l.digest, { chainId, diffId: l.diffId, tarSplit });
      return { mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: l.diffId, uncompressedSize: l.uncompressedSize, ...(l.urls?.length ? { urls: l.urls } : {}) };
    });
    const configDigest = digestOf(img.configRaw);
    return [
      {
        manifest: { raw: img.manifestRaw, digest: digestOf(img.manifestRaw), mediaType: parseMediaType(img.manifestMediaType), parsed: img.manifest },
        config: { raw: img.configRaw, digest: configDigest, mediaType: parseMediaType(img.manifest.config.mediaType), parsed: img.config },
        layers,
        names: [...this.names],
      },
    ];
  }

  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const s = this.byDigest.get(l.digest);
    if (s === undefined) throw new CairnError('internal', `layer ${l.digest} is not one of the built image's`);
    return layerBlob(this.store, { chainId: s.chainId, diffId: s.diffId, blobDigest: l.digest, tarSplit: s.tarSplit });
  }

  async close(): Promise<void> {
    // The build's lease holds what this read; it is released with the build.
  }
}
