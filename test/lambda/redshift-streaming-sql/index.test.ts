import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createHandler, parsePhysicalId, physicalIdOf } from '../../../lambda/redshift-streaming-sql';
import { LOCAL_AWS } from '../../support/local-servers';
import { FakeRedshiftData } from './fake-redshift-data';

const ROLE = 'arn:aws:iam::000000000000:role/streaming';
const SECRET = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:redshift!ns-admin-AbCdEf';

const fake = new FakeRedshiftData();
let handler: ReturnType<typeof createHandler>;

beforeAll(async () => {
  await fake.start();
  handler = createHandler({
    data: new RedshiftDataClient({ ...LOCAL_AWS, endpoint: fake.url }),
    serverless: new RedshiftServerlessClient({ ...LOCAL_AWS, endpoint: fake.url }),
    pollIntervalMs: 5,
  });
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => fake.reset());

const schemaProps = (overrides: Record<string, string> = {}) => ({
  Kind: 'ExternalSchema',
  WorkgroupName: 'streaming',
  Database: 'dev',
  SecretArn: SECRET,
  SchemaName: 'kinesis',
  RoleArn: ROLE,
  ...overrides,
});

const viewProps = (overrides: Record<string, string> = {}) => ({
  Kind: 'MaterializedView',
  WorkgroupName: 'streaming',
  Database: 'dev',
  SecretArn: SECRET,
  SchemaName: 'kinesis',
  ViewName: 'telemetry',
  StreamName: 'telemetry',
  JsonOnly: 'true',
  ...overrides,
});

let request = 0;
function event(
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, string>,
  physicalId = '',
  oldProperties: Record<string, string> = properties,
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:sql',
    ResponseURL: `${fake.url}/cfn-response/${++request}`,
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/S/1',
    RequestId: `req-${request}`,
    LogicalResourceId: 'Streaming',
    ResourceType: 'Custom::RedshiftStreamingSql',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:sql', ...properties },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: physicalId,
      OldResourceProperties: { ServiceToken: common.ServiceToken, ...oldProperties },
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalId };
}

const context = { getRemainingTimeInMillis: () => 60_000 };

/** Runs the event and returns CloudFormation's answer. */
async function send(e: CloudFormationCustomResourceEvent, ctx = context): Promise<Record<string, unknown>> {
  const before = fake.responses.length;
  await handler(e, ctx);
  expect(fake.responses).toHaveLength(before + 1);
  return fake.responses[before];
}

async function createSchemaAndView(): Promise<{ schemaId: string; viewId: string }> {
  const schema = await send(event('Create', schemaProps()));
  const view = await send(event('Create', viewProps()));
  expect([schema.Status, view.Status]).toEqual(['SUCCESS', 'SUCCESS']);
  return { schemaId: String(schema.PhysicalResourceId), viewId: String(view.PhysicalResourceId) };
}

describe('redshift-streaming-sql', () => {
  test('Create makes the external schema with the role, through the secret, and owns it', async () => {
    const response = await send(event('Create', schemaProps()));
    expect(response).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'redshift-external-schema:streaming/dev/kinesis#owned',
      Data: { SchemaName: 'kinesis' },
    });
    expect(fake.schemas.get('streaming/dev/kinesis')).toEqual({ roleArn: ROLE });
    expect(fake.log.map((l) => l.sql)).toEqual([
      'SELECT 1 FROM pg_namespace WHERE nspname = :name;',
      `CREATE EXTERNAL SCHEMA IF NOT EXISTS "kinesis" FROM KINESIS IAM_ROLE '${ROLE}';`,
    ]);
    expect(fake.log.every((l) => l.secretArn === SECRET && l.workgroup === 'streaming')).toBe(true);
  });

  test('without a secret the statements run with the caller identity (no SecretArn sent)', async () => {
    const { SecretArn: _, ...iam } = schemaProps();
    await send(event('Create', iam));
    expect(fake.log.length).toBeGreaterThan(0);
    expect(fake.log.every((l) => l.secretArn === undefined)).toBe(true);
  });

  test('with a namespace and no secret, the statements run with the admin secret Redshift manages for it', async () => {
    const { SecretArn: _, ...props } = schemaProps({ NamespaceName: 'streaming-ns' });
    const created = await send(event('Create', props));
    expect(created.Status).toBe('SUCCESS');
    const dropped = await send(event('Delete', props, String(created.PhysicalResourceId)));
    expect(dropped.Status).toBe('SUCCESS');
    expect(fake.log.length).toBe(3);
    expect(new Set(fake.log.map((l) => l.secretArn))).toEqual(new Set([fake.managedSecrets.get('streaming-ns')]));
  });

  test('a schema that existed before is adopted, not owned, and Delete leaves it', async () => {
    fake.schemas.set('streaming/dev/kinesis', { roleArn: 'arn:aws:iam::000000000000:role/theirs' });
    const created = await send(event('Create', schemaProps()));
    expect(created).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'redshift-external-schema:streaming/dev/kinesis#not-owned',
    });
    const deleted = await send(event('Delete', schemaProps(), String(created.PhysicalResourceId)));
    expect(deleted).toMatchObject({ Status: 'SUCCESS', Reason: 'Nothing owned to drop' });
    expect(fake.schemas.get('streaming/dev/kinesis')).toEqual({ roleArn: 'arn:aws:iam::000000000000:role/theirs' });
  });

  test('Create makes the auto-refreshing view over the stream', async () => {
    const { viewId } = await createSchemaAndView();
    expect(viewId).toBe('redshift-materialized-view:streaming/dev/telemetry#owned');
    expect(fake.views.get('streaming/dev/public.telemetry')).toEqual({ source: 'streaming/dev/kinesis' });
    expect(fake.responses[1]).toMatchObject({ Data: { ViewName: 'public.telemetry' } });
  });

  test('a stream in mixed case is found: the view is created with case-sensitive identifiers on', async () => {
    await send(event('Create', schemaProps()));
    const response = await send(event('Create', viewProps({ StreamName: 'Orders-Prod', ViewName: 'orders' })));
    expect(response.Status).toBe('SUCCESS');
    expect(fake.log.slice(-2).map((l) => l.sql)).toEqual([
      'SET enable_case_sensitive_identifier TO true;',
      expect.stringContaining('FROM "kinesis"."Orders-Prod"'),
    ]);
    expect(fake.views.has('streaming/dev/public.orders')).toBe(true);
  });

  test('renaming the view creates the new one under a new id; the Delete of the old id drops the old one', async () => {
    const { viewId } = await createSchemaAndView();
    const updated = await send(event('Update', viewProps({ ViewName: 'telemetry_v2' }), viewId, viewProps()));
    expect(updated).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'redshift-materialized-view:streaming/dev/telemetry_v2#owned',
    });
    // Both exist until CloudFormation cleans up the old resource.
    expect([...fake.views.keys()].sort()).toEqual([
      'streaming/dev/public.telemetry',
      'streaming/dev/public.telemetry_v2',
    ]);
    await send(event('Delete', viewProps(), viewId));
    expect([...fake.views.keys()]).toEqual(['streaming/dev/public.telemetry_v2']);
  });

  test('renaming the schema creates the new one; the view is redone over it in place, then the old schema goes', async () => {
    const { schemaId, viewId } = await createSchemaAndView();
    const schema = await send(event('Update', schemaProps({ SchemaName: 'kinesis2' }), schemaId, schemaProps()));
    expect(schema.PhysicalResourceId).toBe('redshift-external-schema:streaming/dev/kinesis2#owned');
    const view = await send(event('Update', viewProps({ SchemaName: 'kinesis2' }), viewId, viewProps()));
    // Same view name: the same object, redone, under the same id (no Delete follows for it).
    expect(view).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: viewId });
    expect(fake.views.get('streaming/dev/public.telemetry')).toEqual({ source: 'streaming/dev/kinesis2' });
    const cleanup = await send(event('Delete', schemaProps(), schemaId));
    expect(cleanup.Status).toBe('SUCCESS');
    expect([...fake.schemas.keys()].sort()).toEqual(['streaming/dev/kinesis2', 'streaming/dev/public']);
  });

  test('a changed filter redoes the view in place', async () => {
    const { viewId } = await createSchemaAndView();
    const response = await send(event('Update', viewProps({ JsonOnly: 'false' }), viewId, viewProps()));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: viewId });
    expect(fake.log.slice(-2).map((l) => l.sql)).toEqual([
      'DROP MATERIALIZED VIEW IF EXISTS "public"."telemetry";',
      expect.not.stringContaining('WHERE'),
    ]);
  });

  test('a changed secret alone leaves the view and its records as they are', async () => {
    const { viewId } = await createSchemaAndView();
    const before = fake.log.length;
    const response = await send(event('Update', viewProps({ SecretArn: `${SECRET}2` }), viewId, viewProps()));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: viewId });
    expect(fake.log).toHaveLength(before);
  });

  test('a new role for an owned schema recreates it; for an adopted one it fails and changes nothing', async () => {
    const owned = await send(event('Create', schemaProps()));
    const other = 'arn:aws:iam::000000000000:role/other';
    const redone = await send(
      event('Update', schemaProps({ RoleArn: other }), String(owned.PhysicalResourceId), schemaProps()),
    );
    expect(redone.Status).toBe('SUCCESS');
    expect(fake.schemas.get('streaming/dev/kinesis')).toEqual({ roleArn: other });

    const adoptedId = 'redshift-external-schema:streaming/dev/kinesis#not-owned';
    const refused = await send(
      event('Update', schemaProps({ RoleArn: ROLE }), adoptedId, schemaProps({ RoleArn: other })),
    );
    expect(refused).toMatchObject({ Status: 'FAILED', PhysicalResourceId: adoptedId });
    expect(String(refused.Reason)).toMatch(/existed before this stack/);
    expect(fake.schemas.get('streaming/dev/kinesis')).toEqual({ roleArn: other });
  });

  test('Delete drops the view, then the schema; a second Delete of each succeeds and drops nothing', async () => {
    const { schemaId, viewId } = await createSchemaAndView();
    for (let round = 0; round < 2; round++) {
      expect((await send(event('Delete', viewProps(), viewId))).Status).toBe('SUCCESS');
      expect((await send(event('Delete', schemaProps(), schemaId))).Status).toBe('SUCCESS');
    }
    expect(fake.views.size).toBe(0);
    expect([...fake.schemas.keys()]).toEqual(['streaming/dev/public']);
  });

  test('a failing statement is reported to CloudFormation as FAILED with Redshift error', async () => {
    await send(event('Create', schemaProps()));
    fake.failMatching = /CREATE MATERIALIZED VIEW/;
    fake.failWith = 'ERROR: permission denied for schema kinesis';
    const response = await send(event('Create', viewProps()));
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'failed-create:req-' + request });
    expect(String(response.Reason)).toMatch(/^FAILED: ERROR: permission denied for schema kinesis/);
    // The rollback's Delete of that id drops nothing.
    const rollback = await send(event('Delete', viewProps(), String(response.PhysicalResourceId)));
    expect(rollback).toMatchObject({ Status: 'SUCCESS', Reason: 'Nothing owned to drop' });
  });

  test('a view that exists already fails the Create, and the rollback leaves it', async () => {
    await send(event('Create', schemaProps()));
    fake.views.set('streaming/dev/public.telemetry', { source: 'streaming/dev/kinesis' });
    const response = await send(event('Create', viewProps()));
    expect(response.Status).toBe('FAILED');
    expect(String(response.Reason)).toMatch(/relation "telemetry" already exists/);
    await send(event('Delete', viewProps(), String(response.PhysicalResourceId)));
    expect(fake.views.has('streaming/dev/public.telemetry')).toBe(true);
  });

  test('a statement still running at the deadline fails the request instead of outliving the function', async () => {
    fake.startedPolls = 1_000_000;
    // 30 s are kept to answer CloudFormation: 60 ms left to wait.
    const response = await send(event('Create', schemaProps()), { getRemainingTimeInMillis: () => 30_060 });
    expect(response.Status).toBe('FAILED');
    expect(String(response.Reason)).toMatch(/still STARTED at the deadline/);
  });

  test('invalid properties fail before any statement runs', async () => {
    const response = await send(event('Create', viewProps({ ViewName: 'Bad Name' })));
    expect(response).toMatchObject({ Status: 'FAILED' });
    expect(String(response.Reason)).toMatch(/ViewName must be .* got 'Bad Name'/);
    expect(fake.log).toHaveLength(0);
  });

  test('physical ids round-trip names with any characters the Data API allows', () => {
    const owned = {
      kind: 'MaterializedView' as const,
      workgroupName: 'wg-1',
      database: 'my.db+x@y',
      name: 'v$1',
      owned: true,
    };
    expect(parsePhysicalId(physicalIdOf(owned))).toEqual(owned);
    expect(parsePhysicalId('failed-create:req-1')).toBeUndefined();
  });
});
