/**
 * A redis-server of the test's own: on 127.0.0.1, on a free port, no persistence, in a temporary
 * directory, stopped by stop(). Tests that need it skip with redisSkip()'s reason when no
 * redis-server is installed (`apt-get install redis-server`), except under CI=true, where a missing
 * redis-server is a failure. The TLS variant makes a self-signed certificate with openssl.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';

function has(command: string, versionArg = '--version'): boolean {
  return spawnSync(command, [versionArg], { stdio: 'ignore' }).status === 0;
}

/**
 * Why the Redis tests cannot run here, or undefined when they can. Under CI=true a missing
 * redis-server throws: .ci/run installs it, so its absence is a broken setup, not a skip.
 */
export function redisSkip(opts: { tls?: boolean } = {}): string | undefined {
  const missing = !has('redis-server')
    ? 'no redis-server binary (apt-get install redis-server)'
    : opts.tls && !has('openssl', 'version')
      ? 'no openssl binary to make a test certificate'
      : undefined;
  if (missing && process.env.CI === 'true') throw new Error(`CI=true but ${missing}`);
  return missing;
}

export interface TestRedis {
  /** redis:// (or rediss://) URL with the password. */
  url: string;
  port: number;
  password: string;
  /** TLS only: the self-signed certificate (PEM file), to trust as a CA. */
  caFile?: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends PING (with AUTH) once; resolves whether +PONG came back. */
function ping(port: number, password: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = ca
      ? tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
      : new Socket().connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on(ca ? 'secureConnect' : 'connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('+PONG')) done(true);
      else if (reply.includes('-')) done(false);
    });
  });
}

/** Starts a redis-server for one test file; `tls`: only a TLS port, with a self-signed cert. */
export async function startRedis(opts: { tls?: boolean } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-redis-'));
  const port = await freePort();
  const password = 'test-password';
  const args = [
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--requirepass',
    password,
    '--maxmemory-policy',
    'noeviction',
  ];
  let caFile: string | undefined;
  if (opts.tls) {
    caFile = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      caFile,
      '--tls-key-file',
      key,
      '--tls-auth-clients',
      'no',
    );
  } else {
    args.push('--port', String(port));
  }
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    if (await ping(port, password, ca)) break;
    if (i > 100) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${port}: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const scheme = opts.tls ? 'rediss' : 'redis';
  return {
    url: `${scheme}://:${password}@127.0.0.1:${port}`,
    port,
    password,
    caFile,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
