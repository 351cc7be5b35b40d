/**
 * Instruction values BuildKit validates after expansion: STOPSIGNAL signals
 * (moby/sys/signal) and EXPOSE ports (convert_expose.go).
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';
import type { LineRange } from './errors.js';
import type { LintSink } from './lint.js';

const SIGNALS: Record<string, number> = {
  ABRT: 6,
  ALRM: 14,
  BUS: 7,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  FPE: 8,
  HUP: 1,
  ILL: 4,
  INT: 2,
  IO: 29,
  IOT: 6,
  KILL: 9,
  PIPE: 13,
  POLL: 29,
  PROF: 27,
  PWR: 30,
  QUIT: 3,
  SEGV: 11,
  STKFLT: 16,
  STOP: 19,
  SYS: 31,
  TERM: 15,
  TRAP: 5,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  USR1: 10,
  USR2: 12,
  VTALRM: 26,
  WINCH: 28,
  XCPU: 24,
  XFSZ: 25,
};

/** moby/sys/signal ParseSignal: a number, or a name with or without SIG, or RTMIN+n. */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = parseInt(s, 10);
    if (n === 0) throw new InvalidArgumentError(`Invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  const n = SIGNALS[name];
  if (n !== undefined) return n;
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = rt[1] === undefined ? 0 : parseInt(rt[1], 10);
    const v = name.startsWith('RTMIN') ? 34 + off : 64 - off;
    if (v >= 34 && v <= 64) return v;
  }
  throw new InvalidArgumentError(`Invalid signal: ${s}`);
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  if (parts.length === 1) return ['', '', parts[0] as string];
  if (parts.length === 2) return ['', parts[0] as string, parts[1] as string];
  const n = parts.length;
  return [parts.slice(0, n - 2).join(':'), parts[n - 2] as string, parts[n - 1] as string];
}

function parsePortNumber(s: string): number {
  if (s === '') throw new InvalidArgumentError('value is empty');
  if (!/^[+-]?\d+$/.test(s)) throw new InvalidArgumentError('invalid syntax');
  const n = parseInt(s, 10);
  if (n < 0 || n > 65535) throw new InvalidArgumentError('value out of range (0–65535)');
  return n;
}

function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new InvalidArgumentError('empty string specified for ports');
  const dash = ports.indexOf('-');
  const start = dash < 0 ? ports : ports.slice(0, dash);
  const end = dash < 0 ? '' : ports.slice(dash + 1);
  let s: number;
  try {
    s = parsePortNumber(start);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError(`invalid start port '${start}': ${e.message}`, { cause: e });
  }
  if (dash < 0 || start === end) return [s, s];
  let e2: number;
  try {
    e2 = parsePortNumber(end);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError(`invalid end port '${end}': ${e.message}`, { cause: e });
  }
  if (e2 < s) throw new InvalidArgumentError('invalid port range: ' + ports);
  return [s, e2];
}

/** One EXPOSE word to `port/proto` entries, reporting the two EXPOSE rules. */
export function parseExposePort(raw: string, lint: LintSink | undefined, where: LineRange[]): string[] {
  const [ip, hostPort, containerPortProto] = splitParts(raw);
  const slash = containerPortProto.indexOf('/');
  const containerPort = slash < 0 ? containerPortProto : containerPortProto.slice(0, slash);
  let proto = slash < 0 ? '' : containerPortProto.slice(slash + 1);
  if (containerPort === '') throw new InvalidArgumentError(`invalid port: ${JSON.stringify(raw)}: no port specified`);
  const lower = proto.toLowerCase();
  if (lower === '') proto = 'tcp';
  else if (lower !== 'tcp' && lower !== 'udp' && lower !== 'sctp') throw new InvalidArgumentError(`invalid port: ${JSON.stringify(raw)}: invalid proto: ${proto}`);
  if (lint) {
    if (proto !== proto.toLowerCase()) lint.run('ExposeProtoCasing', where, raw);
    if (ip !== '' || hostPort !== '') lint.run('ExposeInvalidFormat', where, raw);
  }
  let [start, end] = [0, 0];
  try {
    [start, end] = parsePortRange(containerPort);
  } catch (e) {
    // BuildKit reports the container port only, dropping the parse detail.
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError('invalid containerPort: ' + containerPort);
  }
  if (hostPort !== '') {
    let hs: number;
    let he: number;
    try {
      [hs, he] = parsePortRange(hostPort);
    } catch (e) {
      // As above: BuildKit's message names the host port only.
      if (!isCairnError(e)) throw e;
      throw new InvalidArgumentError('invalid hostPort: ' + hostPort);
    }
    if (end - start !== he - hs && end !== start) {
      throw new InvalidArgumentError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}
