import * as http from 'http';
import * as net from 'net';
import { ConnectionGate } from '../../../bin/local/connection-gate';
import { freePort } from '../../../bin/local/servers';

/** The gate in front of a real HTTP server: a restart must leave every request either answered or never received. */
describe('ConnectionGate', () => {
  let server: http.Server;
  let upstreamPort: number;
  let gate: ConnectionGate;
  const received: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      received.push(req.url!);
      const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => res.end(`answer to ${req.url}`), delay);
    });
    upstreamPort = await freePort();
    await new Promise<void>((r) => server.listen(upstreamPort, '127.0.0.1', r));
    gate = await ConnectionGate.open(await freePort(), upstreamPort);
  });

  afterAll(async () => {
    await gate.shut();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  beforeEach(() => {
    received.length = 0;
  });

  const get = (agent: http.Agent, path: string) =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: gate.frontPort, path, agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
          res.on('error', reject);
        })
        .on('error', reject);
    });

  test('forwards requests both ways', async () => {
    const agent = new http.Agent({ keepAlive: true });
    expect(await get(agent, '/a')).toBe('answer to /a');
    expect(await get(agent, '/b')).toBe('answer to /b');
    agent.destroy();
  });

  test('shut lets a request under way get its answer, then closes, refuses new connections, and reopens', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const slow = get(agent, '/slow?delay=300');
    await new Promise((r) => setTimeout(r, 100));
    const shut = gate.shut();
    expect(await slow).toBe('answer to /slow?delay=300');
    await shut;
    expect(gate.closed.cut).toBe(0);
    await expect(get(new http.Agent(), '/refused')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await gate.reopen();
    expect(await get(new http.Agent(), '/again')).toBe('answer to /again');
    agent.destroy();
  });

  test('a new request on a kept-alive connection during the shut never reaches the server', async () => {
    // A raw socket, so that the second request goes on the same connection even after the gate starts to shut.
    const socket = net.connect(gate.frontPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let answers = '';
    socket.on('data', (d) => (answers += d));
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!answers.includes('answer to /first')) await new Promise((r) => setTimeout(r, 5));
    const shut = gate.shut({ maxWaitMs: 1000 });
    socket.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await shut;
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toEqual(['/first']);
    expect(socket.destroyed || socket.readableEnded).toBe(true);
    socket.destroy();
    await gate.reopen();
  });

  test('a request that gets no answer within the wait is cut and counted', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const stuck = get(agent, '/stuck?delay=2000');
    await new Promise((r) => setTimeout(r, 100));
    const before = gate.closed.cut;
    await gate.shut({ maxWaitMs: 300 });
    await expect(stuck).rejects.toBeDefined();
    expect(gate.closed.cut).toBe(before + 1);
    await gate.reopen();
    agent.destroy();
  });
});
