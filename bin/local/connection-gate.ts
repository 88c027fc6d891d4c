import * as net from 'net';

/** One forwarded connection, and who spoke last on it. */
interface Connection {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** `request` while the client's request has no answer yet; `response` once the server answered. */
  last: 'none' | 'request' | 'response';
  /** When the server last sent bytes. */
  answeredAt: number;
}

/**
 * A TCP forwarder from a front port to an HTTP/1.1 server's port that can be shut the way a server drains before a
 * restart: new connections are refused, a request the server has fully received is answered, a new request on an
 * open connection is refused (the connection closes before forwarding it), and idle connections close. Every
 * request thus either got its answer or never reached the server, so a client retrying after the outage writes no
 * record twice. The server behind it can then stop without waiting on its clients' keep-alive connections, and start
 * again behind the same front port.
 */
export class ConnectionGate {
  /** Opens a gate on `frontPort` (127.0.0.1) that forwards to 127.0.0.1:`upstreamPort`. */
  public static async open(frontPort: number, upstreamPort: number): Promise<ConnectionGate> {
    const gate = new ConnectionGate(frontPort, upstreamPort);
    await gate.reopen();
    return gate;
  }

  private server?: net.Server;
  private readonly connections = new Set<Connection>();
  private shutting = false;
  private closedWhileShutting = 0;
  private cut = 0;

  private constructor(
    public readonly frontPort: number,
    private readonly upstreamPort: number,
  ) {}

  /** Connections closed by `shut` so far, and of them those cut before their answer came (after `maxWaitMs`). */
  public get closed(): { connections: number; cut: number } {
    return { connections: this.closedWhileShutting, cut: this.cut };
  }

  /**
   * Refuses new connections and requests, lets the answers under way arrive, and closes every connection. A
   * connection whose answer has not come within `maxWaitMs` is cut (a stuck request: ambiguous to its client).
   */
  public async shut(options: { maxWaitMs?: number } = {}): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.shutting = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + (options.maxWaitMs ?? 5000);
    // An answer is complete once the server has been quiet on the connection for a moment (Kinesis answers are
    // small and written at once).
    const QUIET_MS = 25;
    while (this.connections.size > 0) {
      const now = Date.now();
      for (const c of [...this.connections]) {
        if (c.last !== 'request' && now - c.answeredAt >= QUIET_MS) this.close(c);
        else if (now >= deadline) {
          this.cut += 1;
          this.close(c);
        }
      }
      if (this.connections.size > 0) await new Promise((r) => setTimeout(r, 5));
    }
    await closed;
  }

  /** Accepts connections again. */
  public async reopen(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.frontPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.shutting = false;
    this.server = server;
  }

  private close(c: Connection): void {
    if (!this.connections.delete(c)) return;
    if (this.shutting) this.closedWhileShutting += 1;
    c.client.destroy();
    c.upstream.destroy();
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    const c: Connection = { client, upstream, last: 'none', answeredAt: 0 };
    this.connections.add(c);
    client.on('data', (chunk: Buffer) => {
      // HTTP/1.1 clients send the next request only after the whole answer: bytes after an answer start one.
      if (this.shutting && c.last !== 'request') return this.close(c);
      c.last = 'request';
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      c.last = 'response';
      c.answeredAt = Date.now();
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    for (const s of [client, upstream]) {
      s.on('error', () => this.close(c));
      s.on('close', () => this.close(c));
      s.on('end', () => this.close(c));
    }
  }
}
