/**
 * `cairn save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`: the archive on stdout
 * (never a terminal) or in FILE — written beside it and renamed into place, so a failed save
 * leaves no partial archive. Docker's CLI checks the output path first (ValidateOutputPath)
 * and says what the host refuses as Go does, bare; it prints nothing else.
 */
import { lstat, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import type { Command } from 'commander';
import type { ArchiveFormat } from '../../archive/save.js';
import { errnoCode } from '../../errors.js';
import { bareError, errnoText, pathError } from '../bare-errors.js';
import { withCairn } from '../context.js';

/** Docker's ValidateOutputPath: what is wrong with writing the archive to `path`, if anything. */
async function outputPathProblem(path: string): Promise<string | undefined> {
  const dir = dirname(normalize(path));
  if (dir !== '.') {
    try {
      await stat(dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return `invalid output path: directory ${JSON.stringify(dir)} does not exist`;
      // any other failure is the next stat's to say (Docker checks only for a missing directory here)
    }
  }
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    return pathError('stat', path, e).message;
  }
  if (st.isDirectory() || st.isFile()) return undefined;
  if (st.isCharacterDevice() || st.isBlockDevice()) return `invalid output path: ${JSON.stringify(path)} must be a directory or a regular file: got a device`;
  return undefined;
}

/** Whether `path` is a directory (not following a symlink); false when there is nothing there. */
async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw pathError('lstat', path, e);
  }
}

export async function run(program: Command, cmd: Command, images: string[]): Promise<void> {
  const o = cmd.opts<{ output?: string; format: ArchiveFormat }>();
  if (!o.output && process.stdout.isTTY) throw bareError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const output = o.output;
  if (output) {
    const problem = await outputPathProblem(output);
    if (problem !== undefined) throw bareError(`failed to save image: ${problem}`);
  }
  await withCairn(program, async (cairn) => {
    if (!output) {
      await cairn.save(images, process.stdout, { format: o.format });
      return;
    }
    const tmp = join(dirname(output), `.${basename(output)}.cairn-${process.pid}`);
    const fh = await open(tmp, 'w').catch((e: unknown) => {
      throw pathError('open', tmp, e);
    });
    try {
      await cairn.save(images, fh.createWriteStream(), { format: o.format });
      // Go's os.Rename refuses a directory in the way as "file exists".
      if (await isDirectory(output)) throw bareError(`rename ${tmp} ${output}: file exists`);
      await rename(tmp, output).catch((e: unknown) => {
        throw bareError(`rename ${tmp} ${output}: ${errnoText(e)}`, { cause: e });
      });
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  });
}
