/**
 * `cairn create [OPTIONS] IMAGE [COMMAND] [ARG...]`: a container on the image, not started; its
 * ID printed. An image the store lacks is pulled first (`--pull missing`, Docker's default),
 * said on stderr as Docker says it.
 */
import type { Command } from 'commander';
import type { Cairn } from '../../engine.js';
import { CairnError, NotFoundError } from '../../errors.js';
import { createOptionsFromFlags, reportFlagError, type CreateFlags } from '../container-flags.js';
import { out, withCairn } from '../context.js';
import { pullForContainer } from './pull.js';

/** The image is in the store, pulled if the policy says so; Docker's errors otherwise. */
export async function ensureImage(cairn: Cairn, image: string, o: Pick<CreateFlags, 'pull' | 'quiet' | 'platform'>): Promise<void> {
  const policy = o.pull;
  if (policy !== 'missing' && policy !== 'always' && policy !== 'never') {
    throw new CairnError('usage', `invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
  }
  const have = await cairn.hasImage(image);
  if (policy === 'never' || (policy === 'missing' && have)) {
    if (!have) throw new NotFoundError(`No such image: ${image}`);
    return;
  }
  if (!have) process.stderr.write(`Unable to find image '${image.includes(':') || image.includes('@') ? image : `${image}:latest`}' locally\n`);
  await pullForContainer(cairn, image, { ...(o.quiet ? { quiet: true } : {}), ...(o.platform !== undefined ? { platform: o.platform } : {}) });
}

export async function run(program: Command, cmd: Command, image: string, args: string[]): Promise<void> {
  const o = cmd.opts<CreateFlags>();
  let options;
  try {
    options = createOptionsFromFlags('create', image, args, o);
  } catch (e) {
    if (reportFlagError(e, cmd.parent?.name() === 'container' ? 'cairn container create' : 'cairn create')) return;
    throw e;
  }
  const settings = options;
  await withCairn(program, async (cairn) => {
    await ensureImage(cairn, image, o);
    const rec = await cairn.createContainer(settings);
    out(`${rec.id}\n`);
  });
}
