/**
 * `--platform` for a build. BuildKit runs a RUN step for another platform under emulation
 * (binfmt_misc/QEMU); cairn has none, so only stages whose platform is the host's may RUN.
 * A stage that only assembles files (FROM scratch, COPY, ENV, ...) builds for any platform:
 * its image config then names that platform (image-config.ts finishImage). An image a stage
 * starts from must be of the stage's platform when one was asked for (BuildKit would resolve
 * that platform's image; cairn's store keeps one image per name).
 */
import type { Plan } from '../dockerfile/index.js';
import { UnsupportedError } from '../errors.js';
import { hostPlatform, matchPlatform, parsePlatform, platformString } from '../oci/platform.js';
import type { ImageConfig, Platform } from '../oci/types.js';

/** Whether a stage of platform `p` can run commands on this host. */
function runsHere(p: Platform, host: Platform): boolean {
  return matchPlatform(p, host);
}

/** Refuse a plan with a RUN in a stage of a platform this host cannot run (UnsupportedError, one line). */
export function checkRunnable(plan: Plan, host: Platform = hostPlatform()): void {
  for (const stage of plan.stages) {
    const p = parsePlatform(stage.platform ?? plan.platforms.target);
    if (runsHere(p, host)) continue;
    const run = stage.steps.find((s) => s.instruction === 'RUN');
    if (run === undefined) continue;
    throw new UnsupportedError(
      `${plan.file}:${run.lines.start}: cannot RUN for platform ${platformString(p)} (stage ${stage.id}): this host runs ${platformString(host)} and cairn has no emulation for other platforms`,
    );
  }
}

/**
 * Refuse a stage whose base image is not of the platform asked for (`--platform`, or the
 * stage's FROM --platform): `configOf` gives each base image's config by its normalised name.
 */
export function checkBasePlatforms(plan: Plan, explicit: boolean, configOf: (normalized: string) => ImageConfig): void {
  for (const stage of plan.stages) {
    if (stage.base.type !== 'image' || (!explicit && stage.platform === undefined)) continue;
    const want = parsePlatform(stage.platform ?? plan.platforms.target);
    const config = configOf(stage.base.normalized);
    if (!config.os || !config.architecture) continue;
    const have: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
    if (matchPlatform(want, have)) continue;
    throw new UnsupportedError(`${plan.file}:${stage.lines.start}: image ${stage.base.ref} is for ${platformString(have)}, not ${platformString(want)}: the store has no ${platformString(want)} image of that name`);
  }
}
