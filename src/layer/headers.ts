/**
 * The tar header of each entry of a layer diff, as containerd's `archive.WriteDiff` writes it
 * (the rules are diff.ts's module comment): directory names end in '/'; numeric owners,
 * empty uname/gname; mode with setuid/setgid/sticky; the mtime as given (the writer drops
 * nanoseconds and clamps it); xattrs as given; whiteouts and opaque markers as empty files
 * with mode 0, owner 0:0 and mtime 0; a name or link target that is not UTF-8 byte-exact in a
 * PAX record; a file with several names written once, under the first, the others hard links
 * to it. One instance per layer: it remembers the first name of every multiply-linked inode.
 * Shared by the tar writer's diffs (diff.ts) and the recorded copy of an upper (upper-copy.ts).
 */
import { UnsupportedError } from '../errors.js';
import type { NativeStat } from '../native/index.js';
import type { TarWriteHeader } from '../tar/index.js';
import { joinRel, kindOf, readLink } from './walk.js';

const WHITEOUT_PREFIX = Buffer.from('.wh.');
const OPAQUE_MARKER = Buffer.from('.wh..wh..opq');
const SLASH = Buffer.from('/');

function isUtf8(b: Buffer): boolean {
  let ascii = true;
  for (let i = 0; i < b.length && ascii; i++) ascii = b[i]! < 0x80;
  return ascii || Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

/** A path or link target as header fields: a string, plus a raw PAX record when the bytes are not UTF-8. */
function pathFields(rel: Buffer, dir: boolean, key: 'path' | 'linkpath'): { text: string; pax?: [string, Buffer] } {
  const bytes = dir ? Buffer.concat([rel, SLASH]) : rel;
  if (isUtf8(bytes)) return { text: bytes.toString('utf8') };
  return { text: bytes.toString('utf8'), pax: [key, bytes] };
}

/** An entry's header, and the link it names as raw bytes: a symlink's target, or for a later name of a multiply-linked inode the first name it was written under (a hard link). */
export interface LayerEntryHeader {
  header: TarWriteHeader;
  link?: Buffer;
}

export class LayerHeaders {
  /** First archive name of every multiply-linked inode written so far, by "dev:ino". */
  private readonly links = new Map<string, Buffer>();

  /** `root`: the tree's directory, for messages. */
  constructor(private readonly root: string) {}

  /** The path of archive path `rel` in the tree, for messages. */
  what(rel: Buffer): string {
    return `layer diff: ${this.root}/${rel.toString('utf8')}`;
  }

  private named(rel: Buffer, dir: boolean, h: Omit<TarWriteHeader, 'name'>, linkTarget?: Buffer): TarWriteHeader {
    const pax = new Map<string, Uint8Array>();
    const n = pathFields(rel, dir, 'path');
    if (n.pax) pax.set(...n.pax);
    const header: TarWriteHeader = { ...h, name: n.text, uname: '', gname: '' };
    if (linkTarget !== undefined) {
      const l = pathFields(linkTarget, false, 'linkpath');
      header.linkname = l.text;
      if (l.pax) pax.set(...l.pax);
    }
    if (pax.size > 0) header.pax = pax;
    return header;
  }

  /** `.wh.NAME` for deleted `dir/NAME`. */
  whiteout(dir: Buffer, name: Buffer): TarWriteHeader {
    return this.named(joinRel(dir, Buffer.concat([WHITEOUT_PREFIX, name])), false, { type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 });
  }

  /** `DIR/.wh..wh..opq`: the lower contents of `dir` are gone. */
  opaque(dir: Buffer): TarWriteHeader {
    return this.named(joinRel(dir, OPAQUE_MARKER), false, { type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 });
  }

  /** The header of entry `name` of directory `dirfd`, archived as `rel` (a regular file's body, `st.size` bytes, follows it). */
  entry(dirfd: number, name: Buffer, rel: Buffer, st: NativeStat, xattrs: Map<string, Buffer>): LayerEntryHeader {
    const kind = kindOf(st.mode);
    const base: Omit<TarWriteHeader, 'name'> = {
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: { sec: st.mtimeSec, nsec: st.mtimeNsec },
    };
    if (xattrs.size > 0) base.xattrs = xattrs;
    if (kind === 'dir') return { header: this.named(rel, true, { ...base, type: 'dir' }) };
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) return { header: this.named(rel, false, { ...base, type: 'hardlink' }, first), link: first };
      this.links.set(key, rel);
    }
    switch (kind) {
      case 'file':
        return { header: this.named(rel, false, { ...base, type: 'file', size: st.size }) };
      case 'symlink': {
        const target = readLink(dirfd, name);
        return { header: this.named(rel, false, { ...base, type: 'symlink' }, target), link: target };
      }
      case 'char':
      case 'block':
        return { header: this.named(rel, false, { ...base, type: kind, devmajor: st.rdevMajor, devminor: st.rdevMinor }) };
      case 'fifo':
        return { header: this.named(rel, false, { ...base, type: 'fifo' }) };
      default:
        throw new UnsupportedError(`${this.what(rel)}: cannot archive a ${kind}`);
    }
  }

  /** Refuse an entry named `.wh.*`: a layer cannot hold it. */
  refuseWhiteoutName(name: Buffer, rel: Buffer): void {
    refuseWhiteoutName(this.what(rel), name);
  }
}

/** Refuse entry `name` (`what` says where it is) when it is named `.wh.*`: a layer cannot hold it (it would read as a whiteout). */
export function refuseWhiteoutName(what: string, name: Buffer): void {
  if (name.subarray(0, WHITEOUT_PREFIX.length).equals(WHITEOUT_PREFIX)) {
    throw new UnsupportedError(`${what}: a file named ".wh.*" cannot be represented in an OCI layer (it would read as a whiteout)`);
  }
}
