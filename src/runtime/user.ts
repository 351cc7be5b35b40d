/**
 * `-u` / the image's User: a user spec (`name`, `uid`, `name:group`, `uid:gid`, `:group`)
 * resolved against the image's /etc/passwd and /etc/group as Docker does (runc's
 * GetExecUser rules):
 *
 * - an empty user means uid 0; a user found in passwd gives its uid, primary gid and home;
 *   a numeric uid not in passwd is taken as is, with gid 0 and home `/`; an unknown name is
 *   "unable to find user NAME: no matching entries in passwd file";
 * - an explicit group (name or gid) replaces the primary gid, and then no supplementary
 *   groups are added; an unknown group name is "unable to find group NAME: no matching
 *   entries in group file"; a numeric gid not in /etc/group is taken as is;
 * - without an explicit group, a user found by name gets as additional gids every group of
 *   /etc/group that lists it as a member.
 *
 * Both files are read through rootpath (RESOLVE_IN_ROOT): a link to the host's /etc/passwd
 * in an image reads the image's own /etc/passwd, or nothing.
 */
import { CairnError, InvalidArgumentError } from '../errors.js';
import { readFileInRoot } from './rootpath.js';

export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary groups (from /etc/group membership), in file order. */
  additionalGids: number[];
  /** The user's home directory from passwd, else `/`. */
  home: string;
}

/** Largest uid/gid accepted (as runc: 0 to 2^31-1). */
const MAX_ID = 2 ** 31 - 1;

/** A user or group the image does not know: Docker fails the start with exit code 125. */
export class UnknownUserError extends CairnError {
  constructor(message: string) {
    super('not-found', message, { exitCode: 125 });
    this.name = 'UnknownUserError';
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function lines(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(':'));
}

/** An integer field; a malformed one reads as 0 (as runc's parser does). */
function intField(s: string | undefined): number {
  if (s === undefined || !/^-?\d+$/.test(s)) return 0;
  return Number(s);
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', uid: intField(f[2]), gid: intField(f[3]), home: f[5] ?? '' }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', gid: intField(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }));
}

/** A decimal id as runc's strconv.Atoi reads it, or undefined for a name. */
function numeric(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function checkRange(id: number, spec: string): number {
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) throw new InvalidArgumentError(`invalid user ${JSON.stringify(spec)}: uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/**
 * Resolve a user spec against the text of /etc/passwd and /etc/group (undefined when the
 * image has no such file). Pure; {@link resolveUser} reads the files from a root filesystem.
 */
export function execUserFrom(spec: string | undefined, passwd: string | undefined, group: string | undefined): ExecUser {
  const s = spec ?? '';
  const colon = s.indexOf(':');
  const userArg = colon < 0 ? s : s.slice(0, colon);
  // runc reads only the second field: "a:b:c" is user a, group b.
  const groupArg = colon < 0 ? '' : s.slice(colon + 1).split(':')[0]!;
  const uidArg = numeric(userArg);
  const gidArg = numeric(groupArg);
  const user: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };

  const users = parsePasswd(passwd);
  const match = users.find((u) => (userArg === '' ? u.uid === user.uid : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  let matchedName = '';
  if (match !== undefined) {
    matchedName = match.name;
    user.uid = match.uid;
    user.gid = match.gid;
    user.home = match.home;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw new UnknownUserError(`unable to find user ${userArg}: no matching entries in passwd file`);
    user.uid = checkRange(uidArg, s);
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = parseGroup(group).filter((g) =>
      groupArg === '' ? g.members.includes(matchedName) : gidArg !== undefined ? g.gid === gidArg : g.name === groupArg,
    );
    if (groupArg !== '') {
      if (groups.length > 0) user.gid = groups[0]!.gid;
      else if (gidArg === undefined) throw new UnknownUserError(`unable to find group ${groupArg}: no matching entries in group file`);
      else user.gid = checkRange(gidArg, s);
    } else {
      user.additionalGids = groups.map((g) => g.gid);
    }
  }
  return user;
}

/** Resolve a user spec against the passwd and group files of the root filesystem at `root`. */
export function resolveUser(root: string, spec: string | undefined): ExecUser {
  return execUserFrom(spec, readFileInRoot(root, '/etc/passwd'), readFileInRoot(root, '/etc/group'));
}
