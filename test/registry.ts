/**
 * Real registries for tests: Docker's Distribution registry (Debian's docker-registry package,
 * installed by scripts/setup.sh) started on a free loopback port with its own storage directory,
 * optionally behind htpasswd basic auth; and a loopback proxy in front of a registry that counts
 * the bytes of every blob it serves and can cut a blob's body short once (to test resumption).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Registry {
  /** `127.0.0.1:PORT` */
  host: string;
  dir: string;
  /** The server's process. */
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitUp(host: string, child: ChildProcess, log: () => string, tls = false): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      if (tls) {
        // a TLS registry may want a client certificate: a listening port is enough
        const [h, p] = [host.slice(0, host.lastIndexOf(':')), Number(host.slice(host.lastIndexOf(':') + 1))];
        const sock = connect(p, h, () => {
          sock.destroy();
          resolve(true);
        });
        sock.on('error', () => resolve(false));
        return;
      }
      const r = request(`http://${host}/v2/`, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      r.on('error', () => resolve(false));
      r.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on ${host}: ${log()}`);
}

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file of the certificate that signs the tokens. */
  rootCertBundle: string;
}

/**
 * Start a Distribution registry; `htpasswd` users make it ask for basic auth, `token` for
 * bearer tokens from a token server (startTokenServer).
 */
export interface RegistryTls {
  /** The address to listen on (a non-loopback one, so that clients verify the certificate). */
  ip: string;
  certificate: string;
  key: string;
  /** PEM file of CAs whose client certificates the registry requires. */
  clientCas?: string;
}

/**
 * Start Distribution on a free port. `foreignUrls`: accept manifests whose foreign layers name
 * http(s) URLs (Distribution refuses every such URL unless an allow pattern is configured).
 * `ip`: listen there instead of 127.0.0.1 (plain http on a non-loopback address).
 */
export async function startRegistry(dir: string, opts: { htpasswd?: Record<string, string>; token?: TokenAuth; tls?: RegistryTls; foreignUrls?: boolean; ip?: string; port?: number } = {}): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const host = `${opts.tls?.ip ?? opts.ip ?? '127.0.0.1'}:${port}`;
  let auth = '';
  if (opts.htpasswd) {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, '');
    for (const [user, pass] of Object.entries(opts.htpasswd)) {
      const r = spawnSync('htpasswd', ['-bB', file, user, pass], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr}`);
    }
    auth = `auth:\n  htpasswd:\n    realm: cairn-test\n    path: ${file}\n`;
  }
  if (opts.token) {
    const t = opts.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
  }
  const config = join(dir, 'config.yml');
  const tls = opts.tls ? `  tls:\n    certificate: ${opts.tls.certificate}\n    key: ${opts.tls.key}\n${opts.tls.clientCas ? `    clientcas:\n      - ${opts.tls.clientCas}\n` : ''}` : '';
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${tls}${auth}${opts.foreignUrls ? 'validation:\n  manifests:\n    urls:\n      allow:\n        - ^https?://\n' : ''}`);
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await waitUp(host, child, () => log, opts.tls !== undefined);
  return {
    host,
    dir,
    pid: child.pid!,
    stop: async () => {
      // gone already: exited, or killed by a signal (then exitCode stays null) — a second stop must not wait
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

export interface Proxy {
  host: string;
  /** Bytes of blob bodies served (GET …/blobs/…), total. */
  blobBytes: number;
  /** Requests seen, as `METHOD path`. */
  requests: string[];
  /** Cut the next blob body this many bytes in (then serve normally). */
  cutNextBlobAt(n: number): void;
  /** Drop the connection of the next upload PATCH whose body reaches this many bytes, there. */
  cutNextUploadAt(n: number): void;
  /** Bytes of upload (PATCH and PUT) bodies passed on, total. */
  uploadBytes: number;
  /** Flip one byte of the next blob body over 1 MiB (the registry sends bytes that do not match their digest). */
  corruptNextBlob(): void;
  stop(): Promise<void>;
}

/** A counting proxy in front of `target` (`127.0.0.1:PORT`). */
export async function startProxy(target: string): Promise<Proxy> {
  let cut: number | undefined;
  let corrupt = false;
  let cutUpload: number | undefined;
  const state = { blobBytes: 0, uploadBytes: 0, requests: [] as string[] };
  const server: Server = createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}${req.headers.range ? ` range=${req.headers.range}` : ''}`);
    // the Host header stays the proxy's: the registry then names its upload sessions (Location) through the proxy
    const up = request(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers } }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
      let sent = 0;
      const big = Number(ures.headers['content-length'] ?? 0) > (cut ?? Infinity);
      const limit = isBlob && cut !== undefined && big ? cut : undefined;
      if (limit !== undefined) cut = undefined;
      let flip = isBlob && corrupt && Number(ures.headers['content-length'] ?? 0) > 1 << 20;
      if (flip) corrupt = false;
      ures.on('data', (d: Buffer) => {
        if (flip && d.length > 0) {
          d = Buffer.from(d);
          d[d.length >> 1] ^= 0xff;
          flip = false;
        }
        if (limit !== undefined && sent + d.length > limit) {
          const part = d.subarray(0, limit - sent);
          sent += part.length;
          if (isBlob) state.blobBytes += part.length;
          res.write(part);
          ures.destroy();
          res.socket?.destroy();
          return;
        }
        sent += d.length;
        if (isBlob) state.blobBytes += d.length;
        res.write(d);
      });
      ures.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    if (req.method === 'PATCH' || req.method === 'PUT') {
      // the next PATCH whose body reaches the limit is cut (smaller ones pass)
      const limit = req.method === 'PATCH' ? cutUpload : undefined;
      let passed = 0;
      req.on('data', (d: Buffer) => {
        if (limit !== undefined && cutUpload === limit && passed + d.length > limit) {
          cutUpload = undefined;
          const part = d.subarray(0, limit - passed);
          passed += part.length;
          state.uploadBytes += part.length;
          // the client's connection drops, and so does the registry's: it keeps what it got
          req.socket.destroy();
          up.write(part, () => up.destroy());
          return;
        }
        passed += d.length;
        state.uploadBytes += d.length;
        up.write(d);
      });
      req.on('end', () => up.end());
      return;
    }
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    get blobBytes() {
      return state.blobBytes;
    },
    get requests() {
      return state.requests;
    },
    cutNextBlobAt(n: number) {
      cut = n;
    },
    corruptNextBlob() {
      corrupt = true;
    },
    cutNextUploadAt(n: number) {
      cutUpload = n;
    },
    get uploadBytes() {
      return state.uploadBytes;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface TokenServer {
  auth: TokenAuth;
  /** Token requests seen: the scopes asked for and the user who asked (none: anonymous). */
  requests: Array<{ scopes: string[]; user: string | undefined; service: string | null }>;
  close(): Promise<void>;
}

/**
 * A token server for Distribution's token auth (the distribution spec's token flow), written for
 * the tests: basic-auth users get tokens (RS256 JWTs signed by a self-signed certificate made
 * with openssl, carried in the x5c header) granting the actions they ask for; anonymous callers
 * get tokens granting nothing.
 */
export async function startTokenServer(dir: string, users: Record<string, string>): Promise<TokenServer> {
  const { createPrivateKey, sign, X509Certificate, randomBytes } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=cairn-test-token'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');
  const service = 'cairn-test';
  const issuer = 'cairn-test-issuer';
  const requests: TokenServer['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const h = req.headers.authorization;
    if (h?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(h.slice(6), 'base64').toString().split(':');
      if (users[u!] === undefined || users[u!] !== p) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end('{"details":"incorrect username or password"}');
        return;
      }
      user = u;
    }
    requests.push({ scopes, user, service: url.searchParams.get('service') });
    const access = user === undefined ? [] : scopes.map((s) => {
      const [type, name, actions] = [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
      return { type, name, actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${signing}.${b64url(sign('sha256', Buffer.from(signing), key))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    auth: { realm, service, issuer, rootCertBundle: certFile },
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** openssl, failing loudly. */
function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for `ip` and a client certificate, all signed by the CA (openssl). */
export function makePki(dir: string, ip: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string): string => join(dir, f);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=cairn-test-ca']);
  writeFileSync(p('server.ext'), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', `/CN=${ip}`]);
  openssl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.crt'), '-days', '2', '-extfile', p('server.ext')]);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('client.key'), '-out', p('client.csr'), '-subj', '/CN=cairn-test-client']);
  openssl(['x509', '-req', '-in', p('client.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('client.cert'), '-days', '2', '-extfile', p('client.ext')]);
  return { caCert: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.cert'), clientKey: p('client.key') };
}

/** `cairn registry serve` on a free loopback port, serving the store at `root`. */
export async function startCairnRegistry(root: string, args: string[] = []): Promise<Registry & { log: () => string }> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const cairnJs = new URL('../../bin/cairn.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cairnJs, '--root', root, 'registry', 'serve', '--addr', host, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await waitUp(host, child, () => log, args.includes('--tls-cert'));
  return {
    host,
    dir: root,
    pid: child.pid!,
    log: () => log,
    stop: async () => {
      // gone already: exited, or killed by a signal (then exitCode stays null) — a second stop must not wait
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
