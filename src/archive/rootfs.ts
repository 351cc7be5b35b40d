/**
 * A root filesystem tar (plain, gzip or zstd) as a source of one single-layer image, as
 * `docker import` makes it: the blob is kept as given (no recompression), its diffID computed
 * in the same pass by the sink, and the config built by the pure transforms of oci/mutate
 * (platform, `--change` settings, `--message` comment, creation time, one history entry).
 */
import { DataCorruptError } from '../errors.js';
import {
  appendLayer,
  buildManifest,
  configMediaType,
  familyFor,
  layerMediaType,
  type LayerDescriptor,
  newImageConfig,
  serializeConfig,
  setComment,
  setContainerConfig,
  setCreated,
} from '../oci/mutate.js';
import type { ContainerConfig, Platform } from '../oci/types.js';
import { type ByteOrigin, isFileBytes, OpenFile, streamOf } from '../transfer/origin.js';
import type { ImageSink, ImageSource, ReceivedBlob, SourceImage } from '../transfer/types.js';

export interface RootfsImageOptions {
  /** Canonical tag for the image. */
  tag?: string;
  /** Run-time settings from `--change`. */
  containerConfig?: ContainerConfig;
  /** The config's comment (default: `Imported from SOURCE`). */
  message?: string;
  /** Where the tar came from, for the default comment (`-` for stdin, as Docker). */
  sourceName?: string;
  platform: Pick<Platform, 'os' | 'architecture' | 'variant'>;
  created: Date;
}

export class RootfsSource implements ImageSource {
  readonly verified = false;
  private blob: ReceivedBlob | undefined;

  constructor(
    private readonly origin: ByteOrigin,
    private readonly opts: RootfsImageOptions,
  ) {}

  async deliver(sink: ImageSink<unknown>): Promise<void> {
    const origin = this.origin;
    const hint = { what: 'imported root filesystem', requireTar: true };
    if (!isFileBytes(origin)) {
      this.blob = await sink.receive(origin, hint);
      return;
    }
    // A file is handed over as a span of it: an uncompressed tar is then read by position.
    const f = new OpenFile(origin.file);
    try {
      this.blob = await sink.receive(f.span(0, f.size), { ...hint, reread: () => streamOf(origin) });
      f.checkUnchanged(origin.file);
    } finally {
      f.close();
    }
  }

  async images(): Promise<SourceImage[]> {
    const blob = this.blob;
    if (!blob) throw new DataCorruptError('import: images() before deliver()');
    const created = this.opts.created.toISOString();
    const comment = this.opts.message ?? `Imported from ${this.opts.sourceName ?? '-'}`;
    let config = setContainerConfig(newImageConfig(this.opts.platform), this.opts.containerConfig);
    config = appendLayer(setCreated(setComment(config, comment), created), blob.diffId, { created, comment });
    const family = familyFor([blob.compression], 'docker');
    const layer: LayerDescriptor = {
      mediaType: layerMediaType(blob.compression, family),
      digest: blob.digest,
      size: blob.size,
      diffId: blob.diffId,
      uncompressedSize: blob.uncompressedSize,
    };
    const cmt = configMediaType(family);
    const { raw, digest } = serializeConfig(config);
    const manifest = buildManifest(family, { raw, mediaType: cmt }, [layer]);
    return [
      {
        manifest: { raw: manifest.raw, digest: manifest.digest, mediaType: manifest.manifest.mediaType!, parsed: manifest.manifest },
        config: { raw, digest, mediaType: cmt, parsed: config },
        layers: [layer],
        names: this.opts.tag ? [this.opts.tag] : [],
      },
    ];
  }

  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    throw new DataCorruptError(`layer ${l.digest} is not the imported root filesystem`);
  }

  async close(): Promise<void> {}
}
