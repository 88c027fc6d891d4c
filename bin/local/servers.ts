import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { ConnectionGate } from './connection-gate';

/**
 * Real local servers for `npm run local` and the tests, bound to 127.0.0.1 on free ports and stopped by PID.
 * Every server the tests need is started here, never mocked.
 */
export interface LocalServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
  /**
   * Stops the server, waits `downMs`, and starts it again on the same port with the same data (servers started with
   * persistence only): a fault for tests and the local run, a server that goes away for a while and comes back.
   */
  restart?(downMs: number): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = (name: string) => path.join(ROOT, 'node_modules', name);

/** Ports handed out in this process: two calls never return the same one, even when the first is not yet bound. */
const handedOut = new Set<number>();

/**
 * A free loopback port. Jest workers draw from disjoint ranges (1,000 ports each from 30000, by JEST_WORKER_ID):
 * with ephemeral ports, two workers could be given the same port before either server binds it, and a server that
 * loses the race exits while the other worker's answers on its port.
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.JEST_WORKER_ID ?? 0);
  for (let attempt = 0; ; attempt++) {
    const wanted = worker > 0 ? 30000 + (worker - 1) * 1000 + Math.floor(Math.random() * 1000) : 0;
    if (wanted && handedOut.has(wanted)) continue;
    const port = await new Promise<number | undefined>((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', () => resolve(undefined));
      srv.listen(wanted, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
    if (attempt > 200) throw new Error('no free loopback port found after 200 attempts');
  }
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

/** Stops with SIGTERM, and SIGKILL after `graceMs`; resolves to false when it had to kill. */
function stopper(child: ChildProcess, graceMs = 3000): () => Promise<boolean> {
  return async () => {
    if (child.exitCode !== null || child.pid === undefined) return true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
    return !killed;
  };
}

interface Launch {
  readonly cmd: string;
  readonly args: string[];
  /** The port the server answers on once it is up. */
  readonly port: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Starts a server and waits until it answers. A free port can be taken by another process between `freePort` and
 * the server binding it; the server then exits, and it is started again on new ports (three attempts).
 */
async function start(
  name: string,
  launch: () => Promise<Launch>,
  options: { restartable?: boolean; stopGraceMs?: number } = {},
): Promise<LocalServer> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const { cmd, args, port, env = {} } = await launch();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr = (stderr + d.toString()).slice(-4000)));
    try {
      await waitForPort(port, child, name);
      // A server that lost its port to another process exits right after the port answered (the other's socket).
      await new Promise((r) => setTimeout(r, 200));
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited with code ${child.exitCode} after its port answered`);
      }
      let stop = stopper(child, options.stopGraceMs);
      const server: LocalServer = {
        endpoint: `http://127.0.0.1:${port}`,
        port,
        stop: async () => {
          await stop();
        },
      };
      if (!options.restartable) return server;
      return {
        ...server,
        restart: async (downMs: number) => {
          // Killed, it may not have written its data: coming back without it would be a fault of its own.
          if (!(await stop())) throw new Error(`${name} did not stop within ${options.stopGraceMs ?? 3000} ms`);
          await new Promise((r) => setTimeout(r, downMs));
          // The same command on the same port: the clients keep their endpoint.
          const again = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
          again.stderr?.on('data', () => undefined);
          await waitForPort(port, again, name);
          stop = stopper(again, options.stopGraceMs);
        },
      };
    } catch (e) {
      child.kill('SIGKILL');
      lastError = new Error(`${(e as Error).message} (attempt ${attempt} of 3)\n${stderr}`);
      // Only a server that exited (a port taken meanwhile) is worth another attempt; a hung one is not.
      if (!/exited with code/.test((e as Error).message)) break;
    }
  }
  throw lastError;
}

/**
 * kinesis-local (npm). SDK v3 Kinesis clients must use `NodeHttpHandler` (HTTP/1.1) against it.
 *
 * With `restartable`, `restart` takes it away and brings it back with its streams and records, as a real Kinesis
 * outage would: clients reach it through a {@link ConnectionGate}, which is shut first (connections refused and cut,
 * so no write is acknowledged after that), then the server stops, writing its streams to a temporary folder (it does
 * on SIGTERM, once no connection is open), and starts again from them. Writing them every second instead would cost
 * a full dump each time and lose up to a second of acknowledged records when killed.
 */
export async function startKinesisLocal(options: { restartable?: boolean } = {}): Promise<LocalServer> {
  const dir = pkg('kinesis-local');
  const data = options.restartable ? fs.mkdtempSync(path.join(os.tmpdir(), 'kinesis-local-')) : undefined;
  const server = await start(
    'kinesis-local',
    async () => {
      const port = await freePort();
      const tls = await freePort();
      return {
        cmd: process.execPath,
        args: [path.join(dir, 'main.js')],
        port,
        env: {
          KINESIS_MOCK_CERT_PATH: path.join(dir, 'server.json'),
          KINESIS_MOCK_PLAIN_PORT: String(port),
          KINESIS_MOCK_TLS_PORT: String(tls),
          KINESIS_MOCK_HOST: '127.0.0.1',
          LOG_LEVEL: 'WARN',
          ...(data
            ? { SHOULD_PERSIST_DATA: 'true', PERSIST_PATH: data, PERSIST_INTERVAL: '24h', LOAD_DATA_IF_EXISTS: 'true' }
            : {}),
        },
      };
    },
    // Its shutdown writes the streams; with the gate shut no connection holds it up (they would, for up to 30 s).
    data ? { restartable: true, stopGraceMs: 60000 } : {},
  );
  if (!data) return server;
  const gate = await ConnectionGate.open(await freePort(), server.port);
  return {
    endpoint: `http://127.0.0.1:${gate.frontPort}`,
    port: gate.frontPort,
    restart: async (downMs: number) => {
      await gate.shut();
      await server.restart!(downMs);
      await gate.reopen();
    },
    stop: async () => {
      await gate.shut();
      await server.stop();
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * dynalite (npm): DynamoDB API. No UpdateTimeToLive, no TransactWriteItems. In memory, or with `persistent` in a
 * temporary LevelDB folder (removed by `stop`), so that `restart` brings the tables back.
 */
export async function startDynalite(options: { persistent?: boolean } = {}): Promise<LocalServer> {
  const directory = options.persistent ? fs.mkdtempSync(path.join(os.tmpdir(), 'dynalite-')) : undefined;
  const server = await start(
    'dynalite',
    async () => {
      const port = await freePort();
      return {
        cmd: process.execPath,
        args: [
          path.join(pkg('dynalite'), 'cli.js'),
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          ...(directory ? ['--path', directory] : []),
        ],
        port,
      };
    },
    { restartable: directory !== undefined },
  );
  return {
    ...server,
    restart: directory ? server.restart : undefined,
    stop: async () => {
      await server.stop();
      if (directory) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** s3rver (npm): S3 API. Clients need `forcePathStyle: true` and credentials `LOCAL_AWS` (or S3RVER/S3RVER). */
export async function startS3rver(): Promise<LocalServer & { directory: string }> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const server = await start('s3rver', async () => {
    const port = await freePort();
    return {
      cmd: process.execPath,
      args: [
        // s3rver's CLI, also accepting the local account's credentials (LOCAL_AWS).
        path.join(__dirname, 's3rver-main.js'),
        '-d',
        directory,
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '--silent',
      ],
      port,
    };
  });
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
  const base = execFileSync('influxd', ['config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const server = await start('influxd', async () => {
    const port = await freePort();
    const rpc = await freePort();
    const conf = base
      .replace(/^(\s*)dir = ".*meta"/m, `$1dir = "${dir}/meta"`)
      .replace(/^(\s*)dir = ".*data"/m, `$1dir = "${dir}/data"`)
      .replace(/^(\s*)wal-dir = ".*"/m, `$1wal-dir = "${dir}/wal"`)
      .replace(/^bind-address = ".*"/m, `bind-address = "127.0.0.1:${rpc}"`)
      .replace(/(\[http\][\s\S]*?)bind-address = ".*"/, `$1bind-address = "127.0.0.1:${port}"`)
      .replace(/reporting-disabled = false/, 'reporting-disabled = true');
    const confPath = path.join(dir, 'influx.conf');
    fs.writeFileSync(confPath, conf);
    return { cmd: 'influxd', args: ['-config', confPath], port };
  });
  return {
    ...server,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** moto's server (Python) for SQS and EventBridge, which have no npm emulator; from the project's pinned .venv/. */
export async function startMotoServer(): Promise<LocalServer> {
  const python = path.join(ROOT, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) {
    throw new Error(`${python} not found: run 'bash scripts/ensure-local-servers.sh' (npm test does) to install moto`);
  }
  return start('moto_server', async () => {
    const port = await freePort();
    return {
      cmd: python,
      args: ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
      port,
      // The account of every local server (kinesis-local's is selected by the access key id), so ARNs agree.
      env: { MOTO_ACCOUNT_ID: LOCAL_ACCOUNT },
    };
  });
}

const LOCAL_ACCOUNT = '000000000000';

/** Credentials and region every local client uses. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: LOCAL_ACCOUNT, secretAccessKey: 'local' },
};

/**
 * Creates a stream on `kinesis-local` and returns its ARN once ACTIVE. Polls every 50 ms: the SDK's waiter sleeps
 * at least 10 s between checks (kinesis-local needs ~0.5 s to create a stream), which cost suites tens of seconds.
 */
export async function createLocalStream(client: KinesisClient, name: string, shards: number): Promise<string> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  const deadline = Date.now() + 30000;
  for (;;) {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return s.StreamDescriptionSummary.StreamARN!;
    if (Date.now() > deadline)
      throw new Error(`stream ${name} not ACTIVE within 30 s (${s.StreamDescriptionSummary?.StreamStatus})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Creates an InfluxDB database and returns once the server lists it. InfluxDB 1.6 answers CREATE DATABASE with 200
 * (errors ride in the JSON body), and on a loaded machine a write right after it was seen to get 404 "database not
 * found"; waiting for SHOW DATABASES to list it removes that race.
 */
export async function createInfluxDatabase(endpoint: string, db: string): Promise<void> {
  const query = async (q: string) => {
    const res = await fetch(`${endpoint}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
    const body = (await res.json()) as { results: Array<{ error?: string; series?: Array<{ values?: string[][] }> }> };
    if (res.status !== 200 || body.results[0]?.error) {
      throw new Error(`InfluxDB ${q}: HTTP ${res.status} ${JSON.stringify(body)}`);
    }
    return body.results[0];
  };
  await query(`CREATE DATABASE "${db}"`);
  const deadline = Date.now() + 15000;
  for (;;) {
    const listed = (await query('SHOW DATABASES')).series?.[0]?.values?.some((v) => v[0] === db);
    if (listed) return;
    if (Date.now() > deadline) throw new Error(`InfluxDB did not list database ${db} within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows of an InfluxQL query against InfluxDB 1.x, each with its series' tags and its columns, times in ms. */
export async function queryInflux(endpoint: string, db: string, q: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${endpoint}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as {
    results: Array<{ series?: Array<{ columns: string[]; values: unknown[][]; tags?: Record<string, string> }> }>;
  };
  const out: Array<Record<string, unknown>> = [];
  for (const s of body.results[0].series ?? []) {
    for (const v of s.values) out.push({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) });
  }
  return out;
}
