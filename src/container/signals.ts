/**
 * Signals by name or number, as Docker 20.10 reads `--stop-signal`, a config's StopSignal and
 * `kill -s` (moby pkg/signal, Linux): a number (Atoi: optional sign, decimal), else a name with
 * or without `SIG`, any case (`term`, `SIGKILL`, `RTMIN+3`, `RTMAX-2`). Anything else is
 * `Invalid signal: X`. *pure*
 */
import { InvalidArgumentError } from '../errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** moby's SignalMap for Linux (not mips). */
export const SIGNALS: Readonly<Record<string, number>> = (() => {
  const m: Record<string, number> = {
    ABRT: 6, ALRM: 14, BUS: 7, CHLD: 17, CLD: 17, CONT: 18, FPE: 8, HUP: 1, ILL: 4, INT: 2, IO: 29, IOT: 6, KILL: 9,
    PIPE: 13, POLL: 29, PROF: 27, PWR: 30, QUIT: 3, SEGV: 11, STKFLT: 16, STOP: 19, SYS: 31, TERM: 15, TRAP: 5, TSTP: 20,
    TTIN: 21, TTOU: 22, URG: 23, USR1: 10, USR2: 12, VTALRM: 26, WINCH: 28, XCPU: 24, XFSZ: 25,
    RTMIN: SIGRTMIN, RTMAX: SIGRTMAX,
  };
  for (let i = 1; i <= 15; i++) m[`RTMIN+${i}`] = SIGRTMIN + i;
  for (let i = 1; i <= 14; i++) m[`RTMAX-${i}`] = SIGRTMAX - i;
  return m;
})();

/** Docker's default stop signal. */
export const DEFAULT_STOP_SIGNAL = 'SIGTERM';

/**
 * pkg/signal ParseSignal: the signal number of `raw`. As Docker, a number is taken as is
 * (even one no signal has, or a negative one) except 0; see {@link isValidSignal}.
 */
export function parseSignal(raw: string): number {
  if (/^[+-]?[0-9]+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0 || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`Invalid signal: ${raw}`);
    return n;
  }
  const name = raw.toUpperCase();
  const n = SIGNALS[name.startsWith('SIG') ? name.slice(3) : name];
  if (n === undefined) throw new InvalidArgumentError(`Invalid signal: ${raw}`);
  return n;
}

/** pkg/signal ValidSignalForPlatform: a number some Linux signal has. */
export function isValidSignal(n: number): boolean {
  return Object.values(SIGNALS).includes(n);
}

/** The signal's usual name (`SIGTERM`, `SIGRTMIN+3`), or undefined for a number none has. */
export function signalName(n: number): string | undefined {
  const preferred: Record<number, string> = { 6: 'SIGABRT', 17: 'SIGCHLD', 29: 'SIGIO' };
  if (preferred[n] !== undefined) return preferred[n];
  const entry = Object.entries(SIGNALS).find(([, v]) => v === n);
  return entry === undefined ? undefined : `SIG${entry[0]}`;
}
