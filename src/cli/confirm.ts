/**
 * Docker's PromptForConfirmation, for the prune commands: the question and " [y/N] " on stdout,
 * one line read from stdin; only "y" or "Y" goes on — anything else, or no input, is No.
 */
import { out } from './context.js';

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

/** Ask `message` and whether the answer is yes. */
export async function confirm(message: string): Promise<boolean> {
  out(`${message} [y/N] `);
  return (await readLine()).toLowerCase() === 'y';
}
