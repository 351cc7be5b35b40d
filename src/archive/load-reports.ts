/**
 * What Docker's daemon reports while it loads a layer of an archive (moby pkg/progress.Reader
 * over the layer's file, in its load): the file is read 32 KiB at a time (the bufio reader
 * archive.DecompressStream puts in front of it), and after a read that moves more than
 * min(512 KiB, 1% of the file) past the last report point, a report is made if the read
 * reached the end or if the rate limiter allows one (one per 100 ms, the first at once); the
 * read that meets the end of the file always reports. So a small layer reports its full size
 * twice, a bigger one first at 32 KiB or so, then only when 100 ms have passed, then at the end.
 * Those counts are what Docker's CLI draws as "Loading layer [==>   ] 1.2MB/3.4MB".
 * The same rule is applied here to the bytes as cairn reads them, at the times it reads them.
 */

/** A layer as Docker's load reports it: its label, its file's size, the byte counts reported. */
export interface LayerLoad {
  /** 12 hex digits: the diffID's (the v1 ID's for an archive from before Docker 1.10). */
  id: string;
  total: number;
  reports: number[];
}

const READ = 32 * 1024;
const INTERVAL_MS = 100;

export class LoadReports {
  readonly reports: number[] = [];
  private readonly every: number;
  private current = 0;
  private lastUpdate = 0;
  /** golang.org/x/time/rate with a burst of 1: a token, refilled over 100 ms. */
  private tokens = 1;
  private tokensAt: number;

  constructor(
    readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.every = total > 0 ? Math.min(512 * 1024, Math.trunc(0.01 * total)) : 512 * 1024;
    this.tokensAt = now();
  }

  /** `seen` bytes of the file have arrived (a running count): each 32 KiB read they complete is made. */
  advance(seen: number): void {
    for (let next = Math.min(this.total, this.current + READ); next > this.current && next <= seen; next = Math.min(this.total, this.current + READ)) this.read(next);
  }

  /** The file is read to its end (the read that meets it); returns the reports. */
  end(): number[] {
    this.report(true);
    this.lastUpdate = this.current;
    return this.reports;
  }

  /** The reports of a file read all at once (one the store already had: Docker reads it anyway). */
  static readAtOnce(total: number): number[] {
    const r = new LoadReports(total, () => 0);
    r.advance(total);
    return r.end();
  }

  private read(to: number): void {
    this.current = to;
    if (this.current - this.lastUpdate > this.every) {
      this.report(false);
      this.lastUpdate = this.current;
    }
  }

  private report(last: boolean): void {
    if (last || this.current === this.total || this.allow()) this.reports.push(this.current);
  }

  private allow(): boolean {
    const t = this.now();
    this.tokens = Math.min(1, this.tokens + (t - this.tokensAt) / INTERVAL_MS);
    this.tokensAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
