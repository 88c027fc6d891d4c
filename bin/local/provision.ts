import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssemblyStack, LocalNames, LocalResolver, resourcesOfType } from './assembly';
import { createLocalStream } from './servers';

/** The clients of the local servers a stack's resources are created on; a missing one skips its resource types. */
export interface LocalClients {
  readonly kinesis?: KinesisClient;
  readonly dynamodb?: DynamoDBClient;
  readonly s3?: S3Client;
  readonly sqs?: SQSClient;
  readonly eventBridge?: EventBridgeClient;
}

export interface ProvisionOptions {
  /**
   * Shards for an on-demand stream, which has no shard count in its template (AWS starts one at 4).
   * @default 4
   */
  readonly onDemandShards?: number;
}

export interface ProvisionedStream {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly shards: number;
}

export interface ProvisionedResource {
  readonly logicalId: string;
  readonly name: string;
}

/** What was created for one stack, by type. */
export interface ProvisionedStack {
  readonly streams: ProvisionedStream[];
  readonly tables: ProvisionedResource[];
  readonly buckets: ProvisionedResource[];
  readonly queues: Array<ProvisionedResource & { url: string }>;
  readonly eventBuses: ProvisionedResource[];
}

/**
 * Creates a stack's Kinesis streams (with their shard counts), DynamoDB tables (keys, indexes, streams), S3 buckets,
 * SQS queues and EventBridge buses on the local servers, as the template declares them.
 */
export async function provisionStack(
  stack: AssemblyStack,
  names: LocalNames,
  resolver: LocalResolver,
  clients: LocalClients,
  options: ProvisionOptions = {},
): Promise<ProvisionedStack> {
  const out: ProvisionedStack = { streams: [], tables: [], buckets: [], queues: [], eventBuses: [] };
  if (clients.kinesis) {
    for (const [logicalId, resource] of resourcesOfType(stack, 'AWS::Kinesis::Stream')) {
      const shards = streamShards(resource.Properties ?? {}, resolver, options.onDemandShards ?? 4);
      const name = names.nameOf(logicalId);
      const arn = await createLocalStream(clients.kinesis, name, shards);
      out.streams.push({ logicalId, name, arn, shards });
    }
  }
  if (clients.dynamodb) {
    for (const [logicalId, resource] of resourcesOfType(stack, 'AWS::DynamoDB::Table')) {
      const name = names.nameOf(logicalId);
      await clients.dynamodb.send(new CreateTableCommand(tableInput(name, resource.Properties ?? {}, resolver)));
      out.tables.push({ logicalId, name });
    }
  }
  if (clients.s3) {
    for (const [logicalId] of resourcesOfType(stack, 'AWS::S3::Bucket')) {
      const name = names.nameOf(logicalId);
      await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
      out.buckets.push({ logicalId, name });
    }
  }
  if (clients.sqs) {
    for (const [logicalId, resource] of resourcesOfType(stack, 'AWS::SQS::Queue')) {
      const name = names.nameOf(logicalId);
      const fifo = resource.Properties?.FifoQueue === true;
      const created = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true' } : undefined }),
      );
      out.queues.push({ logicalId, name, url: created.QueueUrl! });
    }
  }
  if (clients.eventBridge) {
    for (const [logicalId] of resourcesOfType(stack, 'AWS::Events::EventBus')) {
      const name = names.nameOf(logicalId);
      await clients.eventBridge.send(new CreateEventBusCommand({ Name: name }));
      out.eventBuses.push({ logicalId, name });
    }
  }
  return out;
}

/** The shard count a stream's template gives it: `ShardCount` when provisioned, `onDemand` otherwise. */
export function streamShards(properties: Record<string, unknown>, resolver: LocalResolver, onDemand: number): number {
  const mode = resolver.resolve((properties.StreamModeDetails as { StreamMode?: unknown } | undefined)?.StreamMode);
  if (mode === 'ON_DEMAND') return onDemand;
  const count = Number(resolver.resolve(properties.ShardCount ?? 1));
  if (!Number.isInteger(count) || count < 1) throw new Error(`ShardCount resolves to ${count}`);
  return count;
}

/** The CreateTable request of a table's template properties: keys, attributes, indexes and its stream. */
export function tableInput(
  name: string,
  properties: Record<string, unknown>,
  resolver: LocalResolver,
): CreateTableCommandInput {
  const p = resolver.resolve(properties) as Record<string, unknown>;
  const payPerRequest = p.BillingMode === 'PAY_PER_REQUEST';
  const throughput = payPerRequest
    ? undefined
    : (p.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 });
  const index = (i: Record<string, unknown>) => ({
    IndexName: i.IndexName as string,
    KeySchema: i.KeySchema as CreateTableCommandInput['KeySchema'],
    Projection: i.Projection as { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] },
  });
  const gsis = (p.GlobalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map((i) => ({
    ...index(i),
    ProvisionedThroughput: (payPerRequest
      ? undefined
      : (i.ProvisionedThroughput ?? throughput)) as CreateTableCommandInput['ProvisionedThroughput'],
  }));
  const lsis = (p.LocalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map(index);
  const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
  return {
    TableName: name,
    AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
    BillingMode: payPerRequest ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    ProvisionedThroughput: throughput as CreateTableCommandInput['ProvisionedThroughput'],
    GlobalSecondaryIndexes: gsis,
    LocalSecondaryIndexes: lsis,
    StreamSpecification: stream?.StreamViewType
      ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' }
      : undefined,
  };
}
