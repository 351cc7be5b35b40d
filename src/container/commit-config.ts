/**
 * The image config `commit` writes, as Docker 20.10 writes it (daemon/commit.go,
 * image.NewChildImage) — a pure function of the image's config, the container's and the
 * commit's options:
 *
 *   config            the container's Config (the image's run settings, with the values the
 *                     container was created with in their place), `--change` instructions
 *                     applied on top (image/changes.ts)
 *   container_config  the container's Config as it was (without the changes); an empty one when not given
 *   container         the container's ID, when given
 *   author            `--author` (left out when empty)
 *   docker_version    the Docker release cairn reproduces (oci/docker-config.ts DOCKER_VERSION), as import writes it
 *   history           the image's (each entry as Docker's image.History writes it), plus { created, author, created_by: the container's Cmd
 *                     joined by spaces, comment: `--message`, empty_layer when the container
 *                     changed no file } (empty strings left out, as Go's omitempty)
 *   rootfs            the image's diffIDs plus the new layer's (none for an empty change)
 *   architecture, variant, os, os.version, os.features   the image's
 *   created           now
 * Nothing else of the image's config is carried over (its own comment, container, ...). The
 * keys in Docker's order (image.Image's MarshalJSON sorts them), the run settings in
 * container.Config's, times as Go prints them: the same bytes as Docker's config but for what
 * differs by nature (times, the container's ID and hostname, the layer's diffID).
 */
import type { Digest } from '../digest/digest.js';
import { applyChanges } from '../image/changes.js';
import { DOCKER_VERSION, dockerContainerConfig } from '../oci/docker-config.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../oci/types.js';
import { rfc3339Nano } from '../image/query.js';
import { GO_ZERO_TIME, rfc3339Nano as goTime } from './inspect.js';

/** What a commit knows of the container and the user's options. */
export interface CommitInput {
  /**
   * The container's Config as Docker keeps it (Cmd, Entrypoint, Env, WorkingDir, User,
   * Labels, ExposedPorts, Volumes, StopSignal, ...): each field given replaces the image's;
   * absent, the container runs with the image's settings.
   */
  containerConfig?: ContainerConfig;
  /** The container's ID (`container` in the config). */
  containerId?: string;
  author?: string;
  /** `--message`: the new history entry's comment. */
  message?: string;
  /** `--change` Dockerfile instructions. */
  changes?: string[];
}

/** The container's Config: the image's, with the container's own values in their place. */
export function containerRunConfig(image: ImageConfig, input: CommitInput): ContainerConfig {
  return { ...(image.config ?? {}), ...(input.containerConfig ?? {}) };
}

/**
 * The new image's run settings: the container's Config with the `--change` instructions
 * applied (InvalidArgumentError for one that does not parse or is not allowed).
 */
export function committedRunConfig(image: ImageConfig, input: CommitInput): ContainerConfig {
  return applyChanges(containerRunConfig(image, input), input.changes ?? []);
}

/**
 * A history entry as Docker's image.History writes it: created (always; Go's RFC3339Nano),
 * author, created_by, comment, empty_layer (each only when set); nothing else.
 */
function dockerHistoryEntry(h: HistoryEntry): HistoryEntry {
  const out: HistoryEntry = { created: rfc3339Nano(h.created ?? GO_ZERO_TIME) };
  if (h.author) out.author = h.author;
  if (h.created_by) out.created_by = h.created_by;
  if (h.comment) out.comment = h.comment;
  if (h.empty_layer) out.empty_layer = true;
  return out;
}

/** The committed image's config (see the module comment); `diffId` undefined when the change was empty. */
export function commitConfig(image: ImageConfig, input: CommitInput, diffId: Digest | undefined, created: Date): ImageConfig {
  const run = containerRunConfig(image, input);
  const at = goTime(created.getTime());
  const entry: HistoryEntry = { created: at };
  if (input.author) entry.author = input.author;
  const createdBy = (run.Cmd ?? []).join(' ');
  if (createdBy) entry.created_by = createdBy;
  if (input.message) entry.comment = input.message;
  if (diffId === undefined) entry.empty_layer = true;
  // Docker's image.Image, as its MarshalJSON writes it: the top-level keys sorted, each value as
  // its Go type writes it (container.Config in struct order, history entries as image.History)
  const out: ImageConfig = {
    architecture: image.architecture,
    ...(input.author ? { author: input.author } : {}),
    config: dockerContainerConfig(committedRunConfig(image, input)),
    ...(input.containerId ? { container: input.containerId } : {}),
    container_config: dockerContainerConfig(input.containerConfig !== undefined ? run : {}),
    created: at,
    docker_version: DOCKER_VERSION,
    history: [...(image.history ?? []).map(dockerHistoryEntry), entry],
    os: image.os,
    ...(image['os.features'] !== undefined ? { 'os.features': image['os.features'] } : {}),
    ...(image['os.version'] !== undefined ? { 'os.version': image['os.version'] } : {}),
    rootfs: { type: 'layers', diff_ids: diffId === undefined ? [...image.rootfs.diff_ids] : [...image.rootfs.diff_ids, diffId] },
    ...(image.variant !== undefined ? { variant: image.variant } : {}),
  };
  return out;
}
