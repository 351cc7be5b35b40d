/**
 * `cairn volume prune [-f] [--filter label=...]`: Docker 20.10's prompt (answered on stdin:
 * only "y" or "Y" goes on; anything else, or no input, removes nothing and still prints the
 * total), "Deleted Volumes:" with each name, a blank line, and "Total reclaimed space: SIZE".
 */
import type { Command } from 'commander';
import { humanSize } from '../format.js';
import { out, withCairn } from '../context.js';
import { badFilter, flagError } from '../volume.js';

const WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

/** One line from stdin (without its line ending); '' at end of input. */
function readLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let text = '';
    const finish = (line: string): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      resolve(line.replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) finish(text.slice(0, nl));
    };
    const onEnd = (): void => finish(text);
    const onError = (e: Error): void => reject(e);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

/** Docker's PromptForConfirmation: the question and " [y/N] " on stdout, yes only for "y"/"Y". */
async function confirm(message: string): Promise<boolean> {
  out(`${message} [y/N] `);
  return (await readLine()).toLowerCase() === 'y';
}

export async function run(program: Command, cmd: Command): Promise<void> {
  const o = cmd.opts<{ filter: string[]; force?: boolean }>();
  const bad = badFilter(o.filter);
  if (bad !== undefined) return flagError(cmd, '--filter', bad, 'bad format of filter (expected name=value)');
  if (!o.force && !(await confirm(WARNING))) {
    out(`Total reclaimed space: ${humanSize(0, 4)}\n`);
    return;
  }
  await withCairn(program, async (cairn) => {
    const r = await cairn.volumePrune(o.filter);
    if (r.deleted.length > 0) out(`Deleted Volumes:\n${r.deleted.map((n) => `${n}\n`).join('')}\n`);
    out(`Total reclaimed space: ${humanSize(r.reclaimed, 4)}\n`);
  });
}
