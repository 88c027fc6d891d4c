import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createObservability, MetricUnit } from '../../shared/observability';
import { decodeUtf8, isWellFormed } from './json';
import { InvalidInvocationError } from './protocol';
import type { StatefulFunction } from './function';

/** API Gateway REST APIs accept payloads up to 10 MB; the local server enforces the same bound. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** An HTTP answer independent of the transport. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly body: string;
  /** What happened, for logs and metrics. */
  readonly outcome: { readonly applied: number; readonly rejected: number; readonly error?: string };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function errorAnswer(statusCode: number, error: string): HttpAnswer {
  return { statusCode, body: JSON.stringify({ error }), outcome: { applied: 0, rejected: 0, error } };
}

/**
 * The transport-independent part of both adapters: POST only, body must be a JSON invocation request encoded as
 * strict UTF-8 (bytes are decoded strictly; a string must be well-formed, without lone surrogates).
 * 413 for a body over `MAX_REQUEST_BYTES`, 400 with `{"error": reason}` for a request that is not UTF-8, not JSON or
 * breaks the protocol or its limits (nesting, state size, the function's `checkState`), 500 only if the function
 * itself fails unexpectedly. The runtime treats every non-2xx answer alike: it retries with backoff up to the
 * function's `maxAttempts`, then dead-letters the messages of the batch (`HTTP_STATUS`, with the reason).
 */
export function answer(fn: StatefulFunction, method: string, body: string | Uint8Array | undefined): HttpAnswer {
  if (method.toUpperCase() !== 'POST')
    return errorAnswer(405, `method ${method} not allowed; POST an invocation request`);
  if (body === undefined || body.length === 0) return errorAnswer(400, 'request body is empty');
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > MAX_REQUEST_BYTES) return errorAnswer(413, `request body exceeds ${MAX_REQUEST_BYTES} bytes`);
  const text = typeof body === 'string' ? (isWellFormed(body) ? body : undefined) : decodeUtf8(body);
  if (text === undefined) return errorAnswer(400, 'request body is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return errorAnswer(400, `request body is not JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  try {
    const response = fn.invoke(parsed);
    const rejected = response.rejected.length;
    const total = (parsed as { messages: unknown[] }).messages.length;
    return { statusCode: 200, body: JSON.stringify(response), outcome: { applied: total - rejected, rejected } };
  } catch (e) {
    if (e instanceof InvalidInvocationError) return errorAnswer(400, e.reason);
    return errorAnswer(500, `function ${fn.type} failed: ${(e as Error).message}`);
  }
}

/**
 * Lambda handler for an API Gateway REST API proxy integration (`POST /<function>`): the body (plain or base64) is
 * the invocation request, the answer is the invocation response with status 200, or `{"error": ...}` with 400.
 */
export function apiGatewayHandler(
  fn: StatefulFunction,
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  const { logger, metrics } = createObservability(`function-${fn.type}`);
  return async (event) => {
    // A base64 body is handed over as bytes so that invalid UTF-8 is refused rather than replaced with U+FFFD.
    const body =
      event.body === null || event.body === undefined
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64')
          : event.body;
    const result = answer(fn, event.httpMethod ?? 'GET', body);
    try {
      metrics.addMetric('MessagesApplied', MetricUnit.Count, result.outcome.applied);
      metrics.addMetric('MessagesRejected', MetricUnit.Count, result.outcome.rejected);
      metrics.addMetric(
        'InvalidRequests',
        MetricUnit.Count,
        result.statusCode === 400 || result.statusCode === 413 ? 1 : 0,
      );
      if (result.statusCode !== 200) {
        logger.warn('invocation refused', { statusCode: result.statusCode, error: result.outcome.error });
      } else if (result.outcome.rejected > 0) {
        logger.info('messages rejected', { rejected: result.outcome.rejected });
      }
    } finally {
      metrics.publishStoredMetrics();
    }
    return {
      statusCode: result.statusCode,
      headers: result.statusCode === 405 ? { ...JSON_HEADERS, allow: 'POST' } : JSON_HEADERS,
      body: result.body,
    };
  };
}

/** A function served over plain HTTP on 127.0.0.1. */
export interface LocalFunctionServer {
  /** `http://127.0.0.1:<port>/`; any path is accepted. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves a function on `http://127.0.0.1:<port>` with node:http, for local runs of the Flink runtime and for tests.
 * Port 0 picks a free port. Bodies over `MAX_REQUEST_BYTES` get 413.
 */
export function serveLocally(fn: StatefulFunction, port = 0): Promise<LocalFunctionServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const result = tooLarge
        ? errorAnswer(413, `request body exceeds ${MAX_REQUEST_BYTES} bytes`)
        : answer(fn, req.method ?? 'GET', Buffer.concat(chunks));
      const headers: Record<string, string | number> = {
        ...JSON_HEADERS,
        'content-length': Buffer.byteLength(result.body),
      };
      if (result.statusCode === 405) headers.allow = 'POST';
      res.writeHead(result.statusCode, headers);
      res.end(result.body);
    });
    req.on('error', () => res.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${bound}/`,
        port: bound,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((e) => (e ? fail(e) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
