import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/**
 * Real local servers for tests, bound to 127.0.0.1 on free ports and stopped by PID.
 * Every server the tests need is started here, never mocked.
 */
export interface LocalServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = (name: string) => path.join(ROOT, 'node_modules', name);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, name: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name} exited with code ${exited} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
}

async function start(
  name: string,
  cmd: string,
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv = {},
): Promise<LocalServer> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitForPort(port, child, name);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: stopper(child) };
}

/** kinesis-local (npm). SDK v3 Kinesis clients must use `NodeHttpHandler` (HTTP/1.1) against it. */
export async function startKinesisLocal(): Promise<LocalServer> {
  const dir = pkg('kinesis-local');
  const port = await freePort();
  const tls = await freePort();
  return start('kinesis-local', process.execPath, [path.join(dir, 'main.js')], port, {
    KINESIS_MOCK_CERT_PATH: path.join(dir, 'server.json'),
    KINESIS_MOCK_PLAIN_PORT: String(port),
    KINESIS_MOCK_TLS_PORT: String(tls),
    KINESIS_MOCK_HOST: '127.0.0.1',
    LOG_LEVEL: 'WARN',
  });
}

/** dynalite (npm): DynamoDB API. No UpdateTimeToLive, no TransactWriteItems. */
export async function startDynalite(): Promise<LocalServer> {
  const port = await freePort();
  return start(
    'dynalite',
    process.execPath,
    [path.join(pkg('dynalite'), 'cli.js'), '--port', String(port), '--host', '127.0.0.1'],
    port,
  );
}

/** s3rver (npm): S3 API. Clients need `forcePathStyle: true` and credentials S3RVER/S3RVER. */
export async function startS3rver(): Promise<LocalServer & { directory: string }> {
  const port = await freePort();
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const server = await start(
    's3rver',
    process.execPath,
    [path.join(pkg('s3rver'), 'bin', 's3rver.js'), '-d', directory, '-a', '127.0.0.1', '-p', String(port), '--silent'],
    port,
  );
  return {
    ...server,
    directory,
    stop: async () => {
      await server.stop();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** InfluxDB 1.x from Debian (`influxd`), in a temporary directory; serves the v1 `/write` and `/query` API. */
export async function startInfluxDb(): Promise<LocalServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'influx-'));
  const port = await freePort();
  const rpc = await freePort();
  const base = execFileSync('influxd', ['config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const conf = base
    .replace(/^(\s*)dir = ".*meta"/m, `$1dir = "${dir}/meta"`)
    .replace(/^(\s*)dir = ".*data"/m, `$1dir = "${dir}/data"`)
    .replace(/^(\s*)wal-dir = ".*"/m, `$1wal-dir = "${dir}/wal"`)
    .replace(/^bind-address = ".*"/m, `bind-address = "127.0.0.1:${rpc}"`)
    .replace(/(\[http\][\s\S]*?)bind-address = ".*"/, `$1bind-address = "127.0.0.1:${port}"`)
    .replace(/reporting-disabled = false/, 'reporting-disabled = true');
  const confPath = path.join(dir, 'influx.conf');
  fs.writeFileSync(confPath, conf);
  const server = await start('influxd', 'influxd', ['-config', confPath], port);
  return {
    ...server,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** moto's server (Python) for SQS, which has no npm emulator. */
export async function startMotoServer(): Promise<LocalServer> {
  const port = await freePort();
  return start('moto_server', 'python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], port);
}

/** Credentials and region every local client uses. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: '000000000000', secretAccessKey: 'local' },
};
