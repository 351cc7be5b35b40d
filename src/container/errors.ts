/**
 * The errors of `run`/`create` flag values, as Docker 20.10 reports them. *pure*
 *
 * Docker finds a bad value in one of three places, and frames the same message differently:
 * - `flag`: the flag parser (pflag), while the command line is read —
 *   `invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'` then
 *   `See 'docker run --help'.`, exit 125;
 * - `client`: the CLI's own checks once every flag is read (cli/command/container/opts.go) —
 *   `docker: Conflicting options: --restart and --rm.` then the hint, exit 125;
 * - `daemon`: dockerd's validation of the request — `docker: Error response from daemon:
 *   Minimum memory limit allowed is 6MB.` and the hint for `run` (125); `create` prints
 *   `Error response from daemon: ...` and exits 1.
 * cairn has no daemon: each error keeps Docker's message text and says where Docker would
 * have found it (`stage`), and every one exits 125 (cairn's own failure), unless Docker exits
 * otherwise for a check of its CLI (`-a` with `-d` exits 1). A value that Docker accepts but
 * cairn cannot honour (`--restart always`, `--network bridge`) is a `CreateRefusedError`.
 */
import { CairnError, InvalidArgumentError } from '../errors.js';
import { goQuote } from '../template/fmt.js';

export type FlagErrorStage = 'flag' | 'client' | 'daemon';

/** A bad `run`/`create` flag value, with Docker's message. */
export class CreateFlagError extends InvalidArgumentError {
  readonly stage: FlagErrorStage;
  /** The flag as pflag names it (`-m, --memory`), for a `flag` error. */
  readonly flag: string | undefined;
  constructor(message: string, options: { stage: FlagErrorStage; flag?: string; exitCode?: number; cause?: unknown }) {
    super(message, { exitCode: options.exitCode ?? 125, ...(options.cause !== undefined ? { cause: options.cause } : {}) });
    this.name = 'CreateFlagError';
    this.stage = options.stage;
    this.flag = options.flag;
  }
}

/** A value Docker accepts that cairn refuses (no daemon, no container networks yet): exit 125. */
export class CreateRefusedError extends CairnError {
  constructor(message: string) {
    super('unsupported', message, { exitCode: 125 });
    this.name = 'CreateRefusedError';
  }
}

/** pflag's wrapping of a value its flag refused: `invalid argument "V" for "FLAG" flag: MSG`. */
export function flagValueMessage(flag: string, value: string, message: string): string {
  return `invalid argument ${goQuote(value)} for ${goQuote(flag)} flag: ${message}`;
}

/**
 * Run `parse` on a flag's value; an InvalidArgumentError it throws (Docker's inner message)
 * becomes the flag parser's error for that flag.
 */
export function parseFlagValue<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (e) {
    if (e instanceof InvalidArgumentError && !(e instanceof CreateFlagError)) {
      throw new CreateFlagError(flagValueMessage(flag, value, e.message), { stage: 'flag', flag, cause: e });
    }
    throw e;
  }
}

/** A check of Docker's CLI (after the flags are read). */
export function clientError(message: string, exitCode = 125): CreateFlagError {
  return new CreateFlagError(message, { stage: 'client', exitCode });
}

/** A check dockerd makes. */
export function daemonError(message: string): CreateFlagError {
  return new CreateFlagError(message, { stage: 'daemon' });
}
