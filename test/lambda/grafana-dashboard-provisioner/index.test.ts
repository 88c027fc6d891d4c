import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { GrafanaClient } from '@aws-sdk/client-grafana';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  createHandler,
  CustomResourceResponse,
  DataSourceSpec,
  parseRequest,
  SecretReader,
} from '../../../lambda/grafana-dashboard-provisioner';
import { LOCAL_AWS, LocalServer, startMotoServer } from '../../support/local-servers';

const WORKSPACE = 'g-0123456789';
const TOKEN = 'glsa_local_test_token';

interface RequestBody {
  name?: string;
  grafanaRole?: string;
  uid?: string;
  id?: number;
  overwrite?: boolean;
  dashboard?: { id: unknown; uid: string; title: string };
}

interface Call {
  method: string;
  path: string;
  auth?: string;
  body?: Record<string, unknown>;
}

/**
 * Imitates both APIs the provisioner talks to, over real HTTP on 127.0.0.1: the Managed Grafana control plane
 * (service accounts, called through the AWS SDK) and a workspace's Grafana HTTP API (data sources, dashboards),
 * plus CloudFormation's pre-signed response URL.
 */
class FakeGrafana {
  readonly calls: Call[] = [];
  readonly dataSources = new Map<string, Record<string, unknown>>();
  readonly dashboards = new Map<string, Record<string, unknown>>();
  readonly responses: CustomResourceResponse[] = [];
  readonly serviceAccounts = new Set<string>();
  private nextId = 1;
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const body = raw ? JSON.parse(raw) : undefined;
        const url = new URL(req.url ?? '/', 'http://x');
        this.calls.push({ method: req.method ?? '', path: url.pathname, auth: req.headers.authorization, body });
        const [status, answer] = this.route(req.method ?? '', url.pathname, req.headers.authorization, body);
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(answer === undefined ? '' : JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.calls.length = 0;
    this.responses.length = 0;
  }

  private route(method: string, p: string, auth: string | undefined, raw: unknown): [number, unknown] {
    const body = (raw ?? {}) as RequestBody;
    let m: RegExpMatchArray | null;
    if (method === 'PUT' && p.startsWith('/cfn-response/')) {
      this.responses.push(raw as CustomResourceResponse);
      return [200, undefined];
    }
    // Control plane (AWS SDK, restJson1).
    if (method === 'POST' && (m = p.match(/^\/workspaces\/([^/]+)\/serviceaccounts$/))) {
      const id = `sa-${this.nextId++}`;
      this.serviceAccounts.add(id);
      return [200, { id, name: body.name, grafanaRole: body.grafanaRole, workspaceId: m[1] }];
    }
    if (method === 'POST' && (m = p.match(/^\/workspaces\/([^/]+)\/serviceaccounts\/([^/]+)\/tokens$/))) {
      if (!this.serviceAccounts.has(m[2])) return [404, { message: 'no such service account' }];
      return [
        200,
        {
          serviceAccountToken: { id: `t-${this.nextId++}`, name: body.name, key: TOKEN },
          serviceAccountId: m[2],
          workspaceId: m[1],
        },
      ];
    }
    if (method === 'DELETE' && (m = p.match(/^\/workspaces\/([^/]+)\/serviceaccounts\/([^/]+)$/))) {
      this.serviceAccounts.delete(m[2]);
      return [200, { serviceAccountId: m[2], workspaceId: m[1] }];
    }
    // Grafana HTTP API of the workspace.
    if (!p.startsWith('/api/')) return [404, { message: 'not found' }];
    if (auth !== `Bearer ${TOKEN}`) return [401, { message: 'invalid API key' }];
    if (method === 'GET' && (m = p.match(/^\/api\/datasources\/uid\/(.+)$/))) {
      const ds = this.dataSources.get(decodeURIComponent(m[1]));
      return ds ? [200, ds] : [404, { message: 'Data source not found' }];
    }
    if (method === 'POST' && p === '/api/datasources') {
      if (this.dataSources.has(body.uid as string))
        return [409, { message: 'data source with the same uid already exists' }];
      this.dataSources.set(body.uid as string, { ...body, id: this.nextId++ });
      return [200, { message: 'Datasource added' }];
    }
    if (method === 'PUT' && (m = p.match(/^\/api\/datasources\/uid\/(.+)$/))) {
      const existing = this.dataSources.get(decodeURIComponent(m[1]));
      if (!existing || existing.id !== body.id) return [404, { message: 'Data source not found' }];
      this.dataSources.set(body.uid as string, { ...body });
      return [200, { message: 'Datasource updated' }];
    }
    if (method === 'DELETE' && (m = p.match(/^\/api\/datasources\/uid\/(.+)$/))) {
      return this.dataSources.delete(decodeURIComponent(m[1])) ? [200, {}] : [404, { message: 'not found' }];
    }
    if (method === 'POST' && p === '/api/dashboards/db') {
      const d = body.dashboard as NonNullable<RequestBody['dashboard']>;
      if (d.title === 'explode') return [400, { message: 'Dashboard title cannot be explode' }];
      if (d.id !== null || body.overwrite !== true) return [412, { message: 'version-mismatch' }];
      this.dashboards.set(d.uid, d);
      return [200, { status: 'success', uid: d.uid }];
    }
    if (method === 'DELETE' && (m = p.match(/^\/api\/dashboards\/uid\/(.+)$/))) {
      return this.dashboards.delete(decodeURIComponent(m[1])) ? [200, {}] : [404, { message: 'Dashboard not found' }];
    }
    return [404, { message: 'not found' }];
  }
}

const grafana = new FakeGrafana();
let moto: LocalServer;
let secrets: SecretsManagerClient;
let tokenSecretArn: string;
let handler: ReturnType<typeof createHandler>;
let eventCounter = 0;

beforeAll(async () => {
  await grafana.start();
  moto = await startMotoServer();
  secrets = new SecretsManagerClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  const created = await secrets.send(
    new CreateSecretCommand({ Name: 'influx-read-token', SecretString: JSON.stringify({ token: 'influx-token-1' }) }),
  );
  tokenSecretArn = created.ARN as string;
  handler = createHandler({
    grafana: new GrafanaClient({ ...LOCAL_AWS, endpoint: grafana.url }),
    secrets,
  });
});

afterAll(async () => {
  await grafana.stop();
  await moto?.stop();
});

beforeEach(() => grafana.reset());

function dataSources(): DataSourceSpec[] {
  return [
    {
      uid: 'cloudwatch-pipeline',
      name: 'CloudWatch (pipeline)',
      type: 'cloudwatch',
      isDefault: true,
      jsonData: { authType: 'ec2_iam_role', defaultRegion: 'eu-west-1' },
    },
    {
      uid: 'influxdb-telemetry',
      name: 'InfluxDB (telemetry)',
      type: 'influxdb',
      url: 'https://influx.internal:8086',
      jsonData: { version: 'Flux', organization: 'telemetry', defaultBucket: 'telemetry' },
      secureFields: [{ secretArn: tokenSecretArn, jsonKey: 'token', field: 'token' }],
    },
  ];
}

function properties(dashboards: unknown[], ds: DataSourceSpec[] = dataSources()): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:p',
    WorkspaceId: WORKSPACE,
    WorkspaceEndpoint: grafana.url,
    DataSources: JSON.stringify(ds),
    Dashboards: JSON.stringify(dashboards),
  };
}

function event(
  type: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown>,
  old?: Record<string, unknown>,
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: String(props.ServiceToken),
    ResponseURL: `${grafana.url}/cfn-response/${++eventCounter}`,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
    RequestId: `request-${eventCounter}`,
    LogicalResourceId: 'Dashboards',
    ResourceType: 'Custom::GrafanaDashboards',
    ResourceProperties: props as never,
  };
  if (type === 'Create') return { ...common, RequestType: 'Create' };
  if (type === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: `grafana-provisioning-${WORKSPACE}`,
      OldResourceProperties: old as never,
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: `grafana-provisioning-${WORKSPACE}` };
}

const overview = { uid: 'overview', title: 'Overview', panels: [{ id: 1, type: 'timeseries' }] };
const health = { uid: 'health', title: 'Health', panels: [] };

describe('grafana-dashboard-provisioner', () => {
  test('Create provisions data sources and dashboards with a short-lived service account', async () => {
    await handler(event('Create', properties([overview, health])), { awsRequestId: 'req-1' });

    expect(grafana.responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: `grafana-provisioning-${WORKSPACE}`,
        LogicalResourceId: 'Dashboards',
        Data: { Dashboards: 'overview,health', DataSources: 'cloudwatch-pipeline,influxdb-telemetry' },
      }),
    ]);
    // The InfluxDB token came from Secrets Manager and went only into secureJsonData.
    expect(grafana.dataSources.get('influxdb-telemetry')).toMatchObject({
      type: 'influxdb',
      url: 'https://influx.internal:8086',
      access: 'proxy',
      jsonData: { version: 'Flux', organization: 'telemetry', defaultBucket: 'telemetry' },
      secureJsonData: { token: 'influx-token-1' },
    });
    expect(grafana.dataSources.get('cloudwatch-pipeline')).toMatchObject({ isDefault: true });
    expect(grafana.dataSources.get('cloudwatch-pipeline')).not.toHaveProperty('secureJsonData');
    expect([...grafana.dashboards.keys()]).toEqual(['overview', 'health']);

    const controlPlane = grafana.calls.filter((c) => c.path.startsWith('/workspaces/'));
    expect(controlPlane.map((c) => `${c.method} ${c.path}`)).toEqual([
      `POST /workspaces/${WORKSPACE}/serviceaccounts`,
      `POST /workspaces/${WORKSPACE}/serviceaccounts/sa-1/tokens`,
      `DELETE /workspaces/${WORKSPACE}/serviceaccounts/sa-1`,
    ]);
    expect(controlPlane[0].body).toEqual({ name: 'cfn-provisioner-req-1', grafanaRole: 'ADMIN' });
    expect(controlPlane[1].body).toMatchObject({ secondsToLive: 900 });
    expect(grafana.serviceAccounts.size).toBe(0);
    expect(grafana.calls.filter((c) => c.path.startsWith('/api/')).every((c) => c.auth === `Bearer ${TOKEN}`)).toBe(
      true,
    );
  });

  test('Update updates existing data sources in place and removes dashboards no longer listed', async () => {
    const before = properties([overview, health]);
    await handler(event('Create', before));
    grafana.reset();
    const changed = { ...overview, title: 'Overview v2' };
    const after = properties([changed], dataSources().slice(0, 1));

    await handler(event('Update', after, before));

    expect(grafana.responses[0]).toMatchObject({ Status: 'SUCCESS', Data: { Dashboards: 'overview' } });
    expect(grafana.dashboards.get('overview')).toMatchObject({ title: 'Overview v2' });
    expect(grafana.dashboards.has('health')).toBe(false);
    expect(grafana.dataSources.has('influxdb-telemetry')).toBe(false);
    expect(grafana.calls.some((c) => c.method === 'PUT' && c.path === '/api/datasources/uid/cloudwatch-pipeline')).toBe(
      true,
    );
  });

  test('a Grafana error fails the resource with the reason and still deletes the service account', async () => {
    await handler(event('Create', properties([overview, { uid: 'bad', title: 'explode' }])));

    expect(grafana.responses).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: expect.stringMatching(/POST \/api\/dashboards\/db answered 400: .*cannot be explode/),
      }),
    ]);
    expect(grafana.serviceAccounts.size).toBe(0);
  });

  test('invalid properties fail the resource without calling Grafana', async () => {
    await handler(event('Create', { ...properties([]), WorkspaceId: 'not-a-workspace' }));
    expect(grafana.responses[0]).toMatchObject({
      Status: 'FAILED',
      Reason: "WorkspaceId must look like g-0123456789, got 'not-a-workspace'",
    });
    expect(grafana.calls.filter((c) => !c.path.startsWith('/cfn-response/'))).toHaveLength(0);
  });

  test('Delete removes what was provisioned', async () => {
    const props = properties([overview, health]);
    await handler(event('Create', props));
    grafana.reset();

    await handler(event('Delete', props));

    expect(grafana.responses[0]).toMatchObject({ Status: 'SUCCESS' });
    expect(grafana.dashboards.size).toBe(0);
    expect(grafana.dataSources.size).toBe(0);
  });

  test('Delete succeeds even when the workspace cannot be reached', async () => {
    const props = { ...properties([overview]), WorkspaceEndpoint: 'http://127.0.0.1:9' };
    await handler(event('Delete', props));
    expect(grafana.responses[0]).toMatchObject({ Status: 'SUCCESS' });
  });
});

describe('parseRequest', () => {
  test('accepts the dashboards shipped in dashboards/', () => {
    const dir = path.resolve(__dirname, '..', '..', '..', 'dashboards');
    const dashboards = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    const request = parseRequest(properties(dashboards));
    expect(request.dashboards.map((d) => d.uid).sort()).toEqual(['pipeline-health', 'telemetry-timeseries-overview']);
    expect(request.baseUrl).toBe(grafana.url);
  });

  test('adds https:// to a bare workspace endpoint', () => {
    expect(
      parseRequest({ ...properties([]), WorkspaceEndpoint: 'g-0123456789.grafana-workspace.eu-west-1.amazonaws.com' })
        .baseUrl,
    ).toBe('https://g-0123456789.grafana-workspace.eu-west-1.amazonaws.com');
  });

  test.each([
    [{ Dashboards: '[{"uid":"a","title":"A"},{"uid":"a","title":"B"}]' }, /Dashboards\[1\] repeats uid 'a'/],
    [{ Dashboards: '[{"title":"no uid"}]' }, /Dashboards\[0\] must be a dashboard object with a string uid and title/],
    [{ Dashboards: '{' }, /Dashboards is not valid JSON/],
    [{ DataSources: '{}' }, /DataSources must be a JSON array, got object/],
    [{ DataSources: '[{"uid":"x","name":"X"}]' }, /DataSources\[0\].type must be a non-empty string, got undefined/],
    [{ WorkspaceEndpoint: '' }, /WorkspaceEndpoint must be a non-empty string, got ""/],
  ])('rejects %p', (override, message) => {
    expect(() => parseRequest({ ...properties([]), ...override })).toThrow(message);
  });
});

describe('SecretReader', () => {
  test('reads a whole secret string or one JSON key, and says which is wrong', async () => {
    const plain = await secrets.send(new CreateSecretCommand({ Name: 'plain-token', SecretString: 'abc' }));
    const reader = new SecretReader(secrets);
    await expect(reader.read({ secretArn: plain.ARN as string, field: 'token' })).resolves.toBe('abc');
    await expect(reader.read({ secretArn: tokenSecretArn, jsonKey: 'token', field: 'token' })).resolves.toBe(
      'influx-token-1',
    );
    await expect(reader.read({ secretArn: plain.ARN as string, jsonKey: 'token', field: 'token' })).rejects.toThrow(
      /is not JSON, but key 'token' was asked for/,
    );
    await expect(reader.read({ secretArn: tokenSecretArn, jsonKey: 'missing', field: 'token' })).rejects.toThrow(
      /has no non-empty string 'missing'/,
    );
  });
});
