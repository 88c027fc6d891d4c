import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListEventBusesCommand } from '@aws-sdk/client-eventbridge';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  readAssembly,
  LocalNames,
  LocalResolver,
  resourcesOfType,
  streamNameFromArn,
} from '../../../bin/local/assembly';
import { provisionStack } from '../../../bin/local/provision';
import { DynamoDbDestination } from '../../../lib/destination';
import { ShardCalculator, StreamStore } from '../../../lib/storage';
import {
  LOCAL_AWS,
  LocalServer,
  startDynalite,
  startKinesisLocal,
  startMotoServer,
  startS3rver,
} from '../../support/local-servers';

/** A stack with one of each resource type `npm run local` creates, synthesized to a temporary assembly. */
function synthesize(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-assembly-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Local', { env: { region: 'us-east-1' } });
  new StreamStore(stack, 'OnDemand');
  new StreamStore(stack, 'Provisioned', {
    shardPlan: ShardCalculator.calculate({ recordsPerSecond: 2500, averageRecordBytes: 900, loadPredictable: true }),
  });
  const table = new DynamoDbDestination(stack, 'ReadModel', { partitionKeyName: 'pk', sortKeyName: 'sk' });
  table.table.addGlobalSecondaryIndex({
    indexName: 'byStatus',
    partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.KEYS_ONLY,
  });
  new s3.Bucket(stack, 'Archive');
  const queue = new sqs.Queue(stack, 'DeadLetters');
  new events.EventBus(stack, 'Anomalies', { eventBusName: 'AnomalyBus' });
  // A value that joins a queue URL and a stream ARN, as a function's environment would.
  new sqs.CfnQueuePolicy(stack, 'Policy', {
    queues: [queue.queueUrl],
    policyDocument: { Statement: [{ Resource: queue.queueArn, Effect: 'Allow', Action: 'sqs:SendMessage' }] },
  });
  app.synth();
  return outdir;
}

describe('reading the cloud assembly', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = synthesize();
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('lists the stacks with their templates', () => {
    const stacks = readAssembly(outdir);
    expect(stacks.map((s) => s.name)).toEqual(['Local']);
    expect(resourcesOfType(stacks[0], 'AWS::Kinesis::Stream')).toHaveLength(2);
  });

  test('names generated resources after the stack and logical id, keeping explicit names', () => {
    const [stack] = readAssembly(outdir);
    const names = new LocalNames(stack, 'run1-');
    const [[bucketId]] = resourcesOfType(stack, 'AWS::S3::Bucket');
    const [[busId]] = resourcesOfType(stack, 'AWS::Events::EventBus');
    expect(names.nameOf(bucketId)).toBe(`run1-local-${bucketId.toLowerCase()}`);
    expect(names.nameOf(busId)).toBe('AnomalyBus');
    expect(() => names.nameOf('Missing')).toThrow(/Local has no resource Missing/);
  });

  test('resolves Ref, Fn::GetAtt, Fn::Join and Fn::Sub to the local names', () => {
    const [stack] = readAssembly(outdir);
    const names = new LocalNames(stack);
    const resolver = new LocalResolver(names, { sqs: 'http://127.0.0.1:4566' });
    const [[queueId]] = resourcesOfType(stack, 'AWS::SQS::Queue');
    const [[streamId]] = resourcesOfType(stack, 'AWS::Kinesis::Stream');
    expect(resolver.resolve({ Ref: queueId })).toBe(`http://127.0.0.1:4566/000000000000/Local-${queueId}`);
    const arn = resolver.resolve({ 'Fn::GetAtt': [streamId, 'Arn'] }) as string;
    expect(arn).toBe(`arn:aws:kinesis:us-east-1:000000000000:stream/Local-${streamId}`);
    expect(streamNameFromArn(arn)).toBe(`Local-${streamId}`);
    expect(
      resolver.resolve({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x:', { Ref: 'AWS::Region' }]] }),
    ).toBe('arn:aws:x:us-east-1');
    expect(resolver.resolve({ 'Fn::Sub': `\${${streamId}.Arn}|\${AWS::AccountId}|\${!Literal}` })).toBe(
      `${arn}|000000000000|\${!Literal}`,
    );
    const [, policy] = resourcesOfType(stack, 'AWS::SQS::QueuePolicy')[0];
    expect(resolver.resolve(policy.Properties)).toMatchObject({
      Queues: [`http://127.0.0.1:4566/000000000000/Local-${queueId}`],
    });
  });

  test('a reference it cannot resolve fails naming it', () => {
    const [stack] = readAssembly(outdir);
    const resolver = new LocalResolver(new LocalNames(stack));
    const [[tableId]] = resourcesOfType(stack, 'AWS::DynamoDB::Table');
    expect(() => resolver.resolve({ 'Fn::GetAtt': [tableId, 'Nonsense'] })).toThrow(
      new RegExp(`cannot resolve Fn::GetAtt ${tableId}.Nonsense \\(AWS::DynamoDB::Table\\) locally`),
    );
    expect(() => resolver.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/cannot resolve Fn::ImportValue locally/);
    expect(() => resolver.resolve({ Ref: 'Nope' })).toThrow(/Ref to unknown Nope/);
  });

  test('a missing assembly names the command that makes it', () => {
    expect(() => readAssembly(path.join(outdir, 'nowhere'))).toThrow(/manifest.json not found: synthesize first/);
  });
});

describe('creating the resources on the local servers', () => {
  let outdir: string;
  const servers: LocalServer[] = [];
  let kinesis: KinesisClient;
  let dynamodbClient: DynamoDBClient;
  let s3Client: S3Client;
  let sqsClient: SQSClient;
  let eventBridge: EventBridgeClient;

  beforeAll(async () => {
    outdir = synthesize();
    const [k, d, s, m] = await Promise.all([startKinesisLocal(), startDynalite(), startS3rver(), startMotoServer()]);
    servers.push(k, d, s, m);
    kinesis = new KinesisClient({ ...LOCAL_AWS, endpoint: k.endpoint, requestHandler: new NodeHttpHandler() });
    dynamodbClient = new DynamoDBClient({ ...LOCAL_AWS, endpoint: d.endpoint });
    s3Client = new S3Client({
      region: LOCAL_AWS.region,
      endpoint: s.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    sqsClient = new SQSClient({ ...LOCAL_AWS, endpoint: m.endpoint });
    eventBridge = new EventBridgeClient({ ...LOCAL_AWS, endpoint: m.endpoint });
  }, 60000);

  afterAll(async () => {
    for (const c of [kinesis, dynamodbClient, s3Client, sqsClient, eventBridge]) c?.destroy();
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('streams get their shard counts, tables their keys and indexes, and the rest exist', async () => {
    const [stack] = readAssembly(outdir);
    const names = new LocalNames(stack, 'p1-');
    const resolver = new LocalResolver(names, { sqs: servers[3].endpoint });
    const made = await provisionStack(
      stack,
      names,
      resolver,
      { kinesis, dynamodb: dynamodbClient, s3: s3Client, sqs: sqsClient, eventBridge },
      { onDemandShards: 3 },
    );

    const provisioned = resourcesOfType(stack, 'AWS::Kinesis::Stream').find(([, r]) => r.Properties?.ShardCount);
    expect(provisioned).toBeDefined();
    const expectedShards = provisioned![1].Properties!.ShardCount as number;
    const shards = Object.fromEntries(made.streams.map((s) => [s.logicalId, s.shards]));
    expect(shards[provisioned![0]]).toBe(expectedShards);
    expect(Object.values(shards).sort()).toEqual([3, expectedShards].sort());
    for (const s of made.streams) {
      const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: s.name }));
      expect(summary.StreamDescriptionSummary?.OpenShardCount).toBe(s.shards);
    }

    const [table] = made.tables;
    const described = await dynamodbClient.send(new DescribeTableCommand({ TableName: table.name }));
    expect(described.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(described.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byStatus']);

    expect(made.buckets).toHaveLength(1);
    await s3Client.send(new HeadBucketCommand({ Bucket: made.buckets[0].name }));
    const [queue] = made.queues;
    expect(queue.url).toBe(resolver.resolve({ Ref: queue.logicalId }));
    const attributes = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['QueueArn'] }),
    );
    expect(attributes.Attributes?.QueueArn).toBe(resolver.resolve({ 'Fn::GetAtt': [queue.logicalId, 'Arn'] }));
    const buses = await eventBridge.send(new ListEventBusesCommand({}));
    expect(buses.EventBuses?.map((b) => b.Name)).toContain('AnomalyBus');
  }, 60000);
});
