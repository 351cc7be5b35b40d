/**
 * A root filesystem tar (plain, gzip or zstd) as a source of one single-layer image, as
 * `docker import` makes it: the blob is kept as given (no recompression), its diffID computed
 * in the same pass by the sink, and the config as Docker 20.10 writes it (platform, the
 * `--change` settings as a whole container.Config, an empty `container_config`,
 * `docker_version`, the `--message` comment, creation time, one history entry).
 */
import { DataCorruptError } from '../errors.js';
import { DOCKER_VERSION, dockerContainerConfig } from '../oci/docker-config.js';
import { buildManifest, configMediaType, familyFor, layerMediaType, type LayerDescriptor, serializeConfig } from '../oci/mutate.js';
import type { ContainerConfig, ImageConfig, Platform } from '../oci/types.js';
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
    const comment = this.opts.message || `Imported from ${this.opts.sourceName ?? '-'}`;
    const { architecture, variant, os } = this.opts.platform;
    // Docker's import config (daemon ImportImage), keys in the order Docker writes them (sorted):
    // its run settings a whole container.Config, `container_config` an empty one, its version.
    const config: ImageConfig = {
      architecture,
      comment,
      config: dockerContainerConfig(this.opts.containerConfig),
      container_config: dockerContainerConfig(),
      created,
      docker_version: DOCKER_VERSION,
      history: [{ created, comment }],
      os,
      rootfs: { type: 'layers', diff_ids: [blob.diffId] },
      ...(variant ? { variant } : {}),
    };
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
        setsLastTagTime: true,
      },
    ];
  }

  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    throw new DataCorruptError(`layer ${l.digest} is not the imported root filesystem`);
  }

  async close(): Promise<void> {}
}
