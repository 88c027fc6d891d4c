import * as http from 'http';
import { AddressInfo } from 'net';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createHandler, CustomResourceResponse, parseRequest } from '../../../lambda/flink-application-starter';
import { LOCAL_AWS } from '../../support/local-servers';

interface StartCall {
  ApplicationName: string;
  RunConfiguration: {
    ApplicationRestoreConfiguration: { ApplicationRestoreType: string; SnapshotName?: string };
    FlinkRunConfiguration: { AllowNonRestoredState: boolean };
  };
}

/**
 * Imitates the Managed Flink control plane over real HTTP on 127.0.0.1 (the AWS JSON 1.1 protocol the SDK speaks:
 * `X-Amz-Target: KinesisAnalytics_20180523.<Operation>`), with an application that moves through the statuses
 * StartApplication moves it through, plus CloudFormation's pre-signed response URL. moto's kinesisanalyticsv2 has
 * no StartApplication.
 */
class FakeManagedFlink {
  readonly responses: CustomResourceResponse[] = [];
  readonly starts: StartCall[] = [];
  readonly operations: string[] = [];
  /** Statuses DescribeApplication returns, one per call; the last one repeats. */
  statuses: string[] = ['READY'];
  /** Statuses to report after StartApplication (replaces `statuses`). */
  afterStart: string[] = ['STARTING', 'RUNNING'];
  snapshots = 0;
  url = '';
  private server!: http.Server;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const [status, body] = this.route(req.url ?? '/', String(req.headers['x-amz-target'] ?? ''), raw);
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(url: string, target: string, raw: string): [number, unknown] {
    if (url.startsWith('/cfn-response/')) {
      this.responses.push(JSON.parse(raw));
      return [200, undefined];
    }
    const operation = target.split('.')[1];
    this.operations.push(operation);
    const body = raw ? JSON.parse(raw) : {};
    if (body.ApplicationName !== 'enrichment') {
      return [400, { __type: 'ResourceNotFoundException', message: `Application ${body.ApplicationName} not found` }];
    }
    switch (operation) {
      case 'DescribeApplication': {
        const status = this.statuses.length > 1 ? this.statuses.shift() : this.statuses[0];
        return [200, { ApplicationDetail: { ApplicationName: 'enrichment', ApplicationStatus: status } }];
      }
      case 'ListApplicationSnapshots':
        return [
          200,
          {
            SnapshotSummaries: Array.from({ length: this.snapshots }, (_, i) => ({
              SnapshotName: `snap-${i}`,
              SnapshotStatus: 'READY',
            })),
          },
        ];
      case 'StartApplication':
        if (this.statuses[0] !== 'READY') {
          return [400, { __type: 'ResourceInUseException', message: `Application is ${this.statuses[0]}` }];
        }
        this.starts.push(body);
        this.statuses = [...this.afterStart];
        return [200, {}];
      default:
        return [400, { __type: 'UnknownOperationException', message: operation }];
    }
  }
}

const fake = new FakeManagedFlink();
let handler: ReturnType<typeof createHandler>;

beforeAll(async () => {
  await fake.start();
  handler = createHandler({
    flink: new KinesisAnalyticsV2Client({ ...LOCAL_AWS, endpoint: fake.url }),
    pollIntervalMs: 5,
  });
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => {
  fake.responses.length = 0;
  fake.starts.length = 0;
  fake.operations.length = 0;
  fake.statuses = ['READY'];
  fake.afterStart = ['STARTING', 'RUNNING'];
  fake.snapshots = 0;
});

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, string> = {},
): CloudFormationCustomResourceEvent {
  const ResourceProperties = {
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:starter',
    ApplicationName: 'enrichment',
    RestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT',
    AllowNonRestoredState: 'false',
    Revision: '{"code":["bucket","key",""]}',
    ...properties,
  };
  const common = {
    ServiceToken: ResourceProperties.ServiceToken,
    ResponseURL: `${fake.url}/cfn-response/1`,
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/S/1',
    RequestId: 'req-1',
    LogicalResourceId: 'EnrichmentStart',
    ResourceType: 'Custom::FlinkApplicationStart',
    ResourceProperties,
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: 'flink-start-enrichment',
      OldResourceProperties: ResourceProperties,
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: 'flink-start-enrichment' };
}

const context = { getRemainingTimeInMillis: () => 60_000 };

describe('flink-application-starter', () => {
  test('a new application (no snapshot yet) starts without one and the deploy waits until it runs', async () => {
    await handler(event('Create'), context);
    expect(fake.starts).toEqual([
      {
        ApplicationName: 'enrichment',
        RunConfiguration: {
          ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' },
          FlinkRunConfiguration: { AllowNonRestoredState: false },
        },
      },
    ]);
    expect(fake.responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: 'flink-start-enrichment',
        Reason: 'Started (SKIP_RESTORE_FROM_SNAPSHOT)',
        Data: { Action: 'STARTED', RestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' },
      }),
    ]);
    // It answered only once the application was RUNNING.
    expect(fake.operations.slice(-1)).toEqual(['DescribeApplication']);
    expect(fake.statuses).toEqual(['RUNNING']);
  });

  test('a stopped application with snapshots restarts from the latest one', async () => {
    fake.snapshots = 2;
    await handler(event('Update'), context);
    expect(fake.starts[0].RunConfiguration.ApplicationRestoreConfiguration).toEqual({
      ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT',
    });
    expect(fake.responses[0]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'flink-start-enrichment' });
  });

  test('a named snapshot and allowNonRestoredState are passed on', async () => {
    await handler(
      event('Create', {
        RestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT',
        SnapshotName: 'before-2-0',
        AllowNonRestoredState: 'true',
      }),
      context,
    );
    expect(fake.starts[0].RunConfiguration).toEqual({
      ApplicationRestoreConfiguration: {
        ApplicationRestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT',
        SnapshotName: 'before-2-0',
      },
      FlinkRunConfiguration: { AllowNonRestoredState: true },
    });
    expect(fake.operations).not.toContain('ListApplicationSnapshots');
  });

  test('a running application is left alone (CloudFormation already restarted it)', async () => {
    fake.statuses = ['RUNNING'];
    await handler(event('Update'), context);
    expect(fake.starts).toEqual([]);
    expect(fake.responses[0]).toMatchObject({ Status: 'SUCCESS', Reason: 'Already running' });
  });

  test('an application still updating is waited for, then started once it is READY', async () => {
    fake.statuses = ['UPDATING', 'UPDATING', 'READY'];
    await handler(event('Update'), context);
    expect(fake.starts).toHaveLength(1);
    expect(fake.responses[0]).toMatchObject({ Status: 'SUCCESS' });
  });

  test('an application that falls back to READY after the start fails the deploy with the reason', async () => {
    fake.afterStart = ['STARTING', 'READY'];
    await handler(event('Create'), context);
    expect(fake.responses).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: expect.stringMatching(/enrichment went back to READY after StartApplication/),
      }),
    ]);
  });

  test('an application that does not reach RUNNING before the deadline fails the deploy', async () => {
    fake.afterStart = ['STARTING'];
    // 30 s of the remaining time are kept for the answer: 1.5 s of polling are left.
    await handler(event('Create'), { getRemainingTimeInMillis: () => 31_500 });
    expect(fake.responses[0]).toMatchObject({
      Status: 'FAILED',
      Reason: 'enrichment is still STARTING: it did not reach RUNNING before the deadline',
    });
  });

  test('an unknown application fails the deploy with the service error', async () => {
    await handler(event('Create', { ApplicationName: 'missing' }), context);
    expect(fake.responses[0]).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: 'flink-start-missing',
      Reason: expect.stringMatching(/Application missing not found/),
    });
  });

  test('delete leaves the application as it is', async () => {
    fake.statuses = ['RUNNING'];
    await handler(event('Delete'), context);
    expect(fake.operations).toEqual([]);
    expect(fake.responses[0]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'flink-start-enrichment' });
  });

  test('malformed properties are refused', () => {
    expect(() => parseRequest({ ApplicationName: 'a', RestoreType: 'LATEST' })).toThrow(
      /RestoreType must be one of .*, got 'LATEST'/,
    );
    expect(() => parseRequest({ ApplicationName: 'a', RestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT' })).toThrow(
      'SnapshotName goes with RESTORE_FROM_CUSTOM_SNAPSHOT, got RESTORE_FROM_CUSTOM_SNAPSHOT and none',
    );
    expect(() => parseRequest({ RestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' })).toThrow('ApplicationName is missing');
  });
});
