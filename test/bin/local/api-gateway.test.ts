import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { App } from 'aws-cdk-lib';
import { serveRestApis, LocalRestApi, matchPath, proxyRoutes } from '../../../bin/local/api-gateway';
import { AssemblyStack, LocalNames, readAssembly } from '../../../bin/local/assembly';
import { handler as orderHandler } from '../../../lambda/functions/order';
import { FlinkCode } from '../../../lib/processing';
import { EventSourcedMicroservicesStack } from '../../../lib/stacks';

const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../cdk.json'), 'utf8')).context;

let outdir: string;
let stack: AssemblyStack;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-api-'));
  const jar = path.join(outdir, 'stateful-functions.jar');
  fs.writeFileSync(jar, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
  const app = new App({
    outdir: path.join(outdir, 'cdk.out'),
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
  });
  new EventSourcedMicroservicesStack(app, 'EventSourced', {
    env: { region: 'us-east-1' },
    statefulFunctionsCode: FlinkCode.fromJar(jar),
  });
  app.synth();
  [stack] = readAssembly(path.join(outdir, 'cdk.out'));
}, 120000);

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

test('the routes are the Lambda proxy methods of the template, on their stage', () => {
  const routes = proxyRoutes(stack);
  expect(routes.map((r) => `${r.httpMethod} /${r.stageName}${r.resourcePath}`).sort()).toEqual([
    'POST /prod/inventory',
    'POST /prod/order',
  ]);
  const order = routes.find((r) => r.resourcePath === '/order')!;
  expect(stack.template.Resources[order.functionLogicalId].Type).toBe('AWS::Lambda::Function');
  expect(order.timeoutMs).toBe(5000);
});

test('path templates match as API Gateway matches them', () => {
  expect(matchPath('/order', ['order'])).toEqual({});
  expect(matchPath('/items/{id}', ['items', 'a%2Fb'])).toEqual({ id: 'a/b' });
  expect(matchPath('/items/{id}/{sortKey}', ['items', 'x', 'y'])).toEqual({ id: 'x', sortKey: 'y' });
  expect(matchPath('/files/{proxy+}', ['files', 'a', 'b'])).toEqual({ proxy: 'a/b' });
  expect(matchPath('/items/{id}', ['items'])).toBeUndefined();
  expect(matchPath('/order', ['inventory'])).toBeUndefined();
  expect(matchPath('/order', ['order', 'extra'])).toBeUndefined();
});

describe('serving the functions API', () => {
  let api: LocalRestApi;
  const events: APIGatewayProxyEvent[] = [];
  let behaviour: 'order' | 'throw' | 'hang' | 'garbage' = 'order';

  beforeAll(async () => {
    api = await serveRestApis(stack, new LocalNames(stack), async (functionLogicalId, event) => {
      events.push(event);
      expect(stack.template.Resources[functionLogicalId]).toBeDefined();
      if (behaviour === 'throw') throw new Error('boom');
      if (behaviour === 'hang') return new Promise(() => undefined);
      if (behaviour === 'garbage') return { nope: true };
      return orderHandler(event);
    });
  });
  afterAll(() => api.close());
  beforeEach(() => {
    behaviour = 'order';
    events.length = 0;
  });

  const place = JSON.stringify({
    address: { type: 'order', id: 'order-1' },
    state: null,
    stateVersion: 0,
    messages: [
      {
        id: 'm-1',
        type: 'PlaceOrder',
        from: null,
        payload: { customerId: 'c-1', lines: [{ sku: 'sku-1', quantity: 2, unitPriceCents: 1250 }] },
      },
    ],
  });

  test('invokes the integrated function with the proxy event and answers with its result', async () => {
    const res = await fetch(`${api.stageUrl('FunctionsApi', 'prod')}/order?x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261202/us-east-1/execute-api/aws4_request',
      },
      body: place,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { state: { status: string } };
    expect(body.state.status).toBe('placed');
    const [event] = events;
    expect(event).toMatchObject({
      httpMethod: 'POST',
      resource: '/order',
      path: '/order',
      body: place,
      isBase64Encoded: false,
      queryStringParameters: { x: '1' },
      requestContext: { stage: 'prod', resourcePath: '/order', identity: { accessKey: 'AKIDLOCAL' } },
    });
    expect(event.headers['content-type']).toBe('application/json');
  });

  test('a body that is not UTF-8 arrives base64-encoded', async () => {
    await fetch(`${api.endpoint}/prod/order`, { method: 'POST', body: new Uint8Array([0xff, 0xfe, 0x41]) });
    expect(events[0]).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from([0xff, 0xfe, 0x41]).toString('base64'),
    });
  });

  test('an unknown route gets 403 Missing Authentication Token, as in API Gateway', async () => {
    const res = await fetch(`${api.endpoint}/prod/shipping`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
    const wrongStage = await fetch(`${api.endpoint}/dev/order`, { method: 'POST', body: '{}' });
    expect(wrongStage.status).toBe(403);
    expect(events).toHaveLength(0);
  });

  test('a failing function gives 502, a malformed result 502, a slow one 504', async () => {
    behaviour = 'throw';
    expect((await fetch(`${api.endpoint}/prod/order`, { method: 'POST', body: place })).status).toBe(502);
    behaviour = 'garbage';
    expect((await fetch(`${api.endpoint}/prod/order`, { method: 'POST', body: place })).status).toBe(502);
    behaviour = 'hang';
    const started = Date.now();
    const res = await fetch(`${api.endpoint}/prod/inventory`, { method: 'POST', body: place });
    expect(res.status).toBe(504);
    expect(res.headers.get('x-amzn-errortype')).toBe('IntegrationTimeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    expect(api.statusCounts.get(502)).toBe(2);
  }, 20000);
});
