import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AssemblyStack, LocalNames, LocalResolver, resourcesOfType } from './assembly';

/**
 * A local stand-in for the REST APIs of a stack whose methods are Lambda proxy integrations (`AWS_PROXY`): it serves
 * `<method> /<stage>/<resource path>` on 127.0.0.1 and invokes the integrated function with the event API Gateway
 * builds (path and path parameters, query string, headers, body as text or base64, request context), answering with
 * the function's status code, headers and body. Routes come from the template's methods, resources and stages.
 * Like API Gateway, it answers 502 when the function fails or returns something that is not a proxy result, and 504
 * when the integration timeout (`TimeoutInMillis`, 29 s by default) passes. IAM authorization is not checked: the
 * caller signs requests as it would in AWS, and the signature is ignored.
 */

/** One route: an `AWS_PROXY` method of a REST API. */
export interface ProxyRoute {
  readonly restApiLogicalId: string;
  readonly stageName: string;
  readonly httpMethod: string;
  /** The resource path, e.g. `/order` or `/items/{id}`. */
  readonly resourcePath: string;
  /** The logical id of the integrated Lambda function. */
  readonly functionLogicalId: string;
  readonly timeoutMs: number;
}

/** Invokes a function of the stack with an event; resolves to what the function returned, rejects when it failed. */
export type ProxyInvoker = (functionLogicalId: string, event: APIGatewayProxyEvent) => Promise<unknown>;

/** Every Lambda proxy route of the stack's REST APIs, on every stage of its API. */
export function proxyRoutes(stack: AssemblyStack): ProxyRoute[] {
  const resources = stack.template.Resources;
  const paths = new Map<string, string>();
  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string }).Ref;
    if (!ref) return '/'; // Fn::GetAtt <RestApi>.RootResourceId
    const known = paths.get(ref);
    if (known !== undefined) return known;
    const properties = resources[ref]?.Properties ?? {};
    const parent = pathOf(properties.ParentId);
    const full = `${parent === '/' ? '' : parent}/${properties.PathPart as string}`;
    paths.set(ref, full);
    return full;
  };
  const stages = new Map<string, string[]>();
  for (const [, stage] of resourcesOfType(stack, 'AWS::ApiGateway::Stage')) {
    const api = (stage.Properties?.RestApiId as { Ref?: string } | undefined)?.Ref;
    if (!api) continue;
    stages.set(api, [...(stages.get(api) ?? []), stage.Properties!.StageName as string]);
  }
  const routes: ProxyRoute[] = [];
  for (const [, method] of resourcesOfType(stack, 'AWS::ApiGateway::Method')) {
    const p = method.Properties ?? {};
    const integration = p.Integration as { Type?: string; Uri?: unknown; TimeoutInMillis?: number } | undefined;
    if (integration?.Type !== 'AWS_PROXY') continue;
    const functionLogicalId = integratedFunction(integration.Uri);
    const api = (p.RestApiId as { Ref: string }).Ref;
    for (const stageName of stages.get(api) ?? []) {
      routes.push({
        restApiLogicalId: api,
        stageName,
        httpMethod: p.HttpMethod as string,
        resourcePath: pathOf(p.ResourceId),
        functionLogicalId,
        timeoutMs: integration.TimeoutInMillis ?? 29000,
      });
    }
  }
  return routes;
}

function integratedFunction(uri: unknown): string {
  const found = JSON.stringify(uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/);
  if (!found) throw new Error(`cannot find the Lambda function of integration URI ${JSON.stringify(uri)}`);
  return found[1];
}

export interface LocalRestApi {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly routes: readonly ProxyRoute[];
  /** The local base URL of a REST API's stage: `<endpoint>/<stage>`. */
  stageUrl(restApiLogicalId: string, stageName: string): string;
  /** Requests answered, by status code. */
  readonly statusCounts: ReadonlyMap<number, number>;
  close(): Promise<void>;
}

/** Serves the stack's Lambda proxy routes on 127.0.0.1 (port 0: a free one). */
export async function serveRestApis(
  stack: AssemblyStack,
  names: LocalNames,
  invoke: ProxyInvoker,
  port = 0,
): Promise<LocalRestApi> {
  const routes = proxyRoutes(stack);
  const resolver = new LocalResolver(names);
  const statusCounts = new Map<number, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(routes, names, resolver, invoke, req, Buffer.concat(chunks)).then(
        (result) => {
          statusCounts.set(result.statusCode, (statusCounts.get(result.statusCode) ?? 0) + 1);
          const headers = { ...(result.headers ?? {}) } as Record<string, string>;
          const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '');
          res.writeHead(result.statusCode, { ...headers, 'content-length': String(body.length) });
          res.end(body);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: `local API error: ${e.message}` }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    routes,
    statusCounts,
    stageUrl: (_api, stage) => `${endpoint}/${stage}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const GATEWAY_ERROR = (statusCode: number, message: string): APIGatewayProxyResult => ({
  statusCode,
  headers: {
    'content-type': 'application/json',
    'x-amzn-errortype': statusCode === 504 ? 'IntegrationTimeout' : 'InternalServerErrorException',
  },
  body: JSON.stringify({ message }),
});

async function handle(
  routes: readonly ProxyRoute[],
  names: LocalNames,
  resolver: LocalResolver,
  invoke: ProxyInvoker,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<APIGatewayProxyResult> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [, stageName, ...segments] = url.pathname.split('/');
  const method = req.method ?? 'GET';
  let matched: { route: ProxyRoute; pathParameters: Record<string, string> } | undefined;
  for (const route of routes) {
    if (route.stageName !== stageName || (route.httpMethod !== method && route.httpMethod !== 'ANY')) continue;
    const pathParameters = matchPath(route.resourcePath, segments);
    if (pathParameters) {
      matched = { route, pathParameters };
      break;
    }
  }
  if (!matched) {
    return {
      statusCode: 403,
      headers: { 'content-type': 'application/json' },
      body: '{"message":"Missing Authentication Token"}',
    };
  }
  const { route, pathParameters } = matched;
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
  const text = body.toString('utf8');
  // API Gateway passes a body as text when it is valid UTF-8 (for JSON and text media types), base64 otherwise.
  const isBase64Encoded = body.length > 0 && !Buffer.from(text, 'utf8').equals(body);
  const requestId = randomUUID();
  const query = Object.fromEntries(url.searchParams.entries());
  const event: APIGatewayProxyEvent = {
    resource: route.resourcePath,
    path: `/${segments.join('/')}`,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(query).length
      ? Object.fromEntries([...url.searchParams.keys()].map((k) => [k, url.searchParams.getAll(k)]))
      : null,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
    stageVariables: null,
    body: body.length === 0 ? null : isBase64Encoded ? body.toString('base64') : text,
    isBase64Encoded,
    requestContext: {
      accountId: resolver.ref('AWS::AccountId') as string,
      apiId: names.nameOf(route.restApiLogicalId),
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: localIdentity(req),
      path: url.pathname,
      stage: route.stageName,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.resourcePath,
      resourcePath: route.resourcePath,
    },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      invoke(route.functionLogicalId, event),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError()), route.timeoutMs);
      }),
    ]);
    if (!isProxyResult(result)) return GATEWAY_ERROR(502, 'Internal server error');
    return result;
  } catch (e) {
    if (e instanceof TimeoutError) return GATEWAY_ERROR(504, 'Endpoint request timed out');
    return GATEWAY_ERROR(502, 'Internal server error');
  } finally {
    clearTimeout(timer);
  }
}

class TimeoutError extends Error {}

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  const r = value as APIGatewayProxyResult | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    Number.isInteger(r.statusCode) &&
    (r.body === undefined || typeof r.body === 'string')
  );
}

/** The path parameters when `segments` match a resource path such as `/items/{id}`; undefined otherwise. */
export function matchPath(resourcePath: string, segments: readonly string[]): Record<string, string> | undefined {
  const parts = resourcePath.split('/').filter((p) => p !== '');
  const actual = segments.filter((s, i) => s !== '' || i < segments.length - 1);
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part.endsWith('+}')) {
      if (i >= actual.length) return undefined;
      params[part.slice(1, -2)] = actual.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    if (i >= actual.length) return undefined;
    if (part.startsWith('{') && part.endsWith('}')) params[part.slice(1, -1)] = decodeURIComponent(actual[i]);
    else if (part !== actual[i]) return undefined;
  }
  return parts.length === actual.length ? params : undefined;
}

function localIdentity(req: http.IncomingMessage): APIGatewayProxyEvent['requestContext']['identity'] {
  const credential = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? null;
  return {
    accessKey: credential,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    user: null,
    userAgent: String(req.headers['user-agent'] ?? ''),
    userArn: null,
  };
}
