import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import {
  createObservability,
  DeadLetterError,
  DeadLetterSink,
  DecodedRecord,
  kinesisHandler,
  MetricUnit,
} from '../shared';
import { EgressEvent, parseEgressEvent } from './events';
import { Reducer, REDUCERS, reducerFor } from './reducers';

export * from './events';
export * from './reducers';

/** One read-model item (brief: table `READ_MODEL_TABLE`, key pk = aggregateType, sk = aggregateId). */
export interface ReadModelItem {
  readonly pk: string;
  readonly sk: string;
  readonly sequence: number;
  readonly view: object;
  /** `occurredAt` of the applied event, so a rebuild produces the same item as the original run. */
  readonly updatedAt: number;
}

export type ProjectionOutcome = 'applied' | 'skipped';

export interface ProjectionStats {
  /** Events written to the read model. */
  applied: number;
  /** Events whose sequence was not newer than the stored one (redelivered or out of order): already reflected. */
  skipped: number;
}

/** Pure part: the item an event produces. Throws DeadLetterError for an event no view can be built from. */
export function itemFor(event: EgressEvent, reducers: Readonly<Record<string, Reducer>> = REDUCERS): ReadModelItem {
  return {
    pk: event.aggregateType,
    sk: event.aggregateId,
    sequence: event.sequence,
    view: reducerFor(event, reducers)(event),
    updatedAt: event.occurredAt,
  };
}

/**
 * Writes views with a conditional put that only moves forward: `attribute_not_exists(pk) OR sequence < :sequence`.
 * A failed condition means the stored view is from the same or a newer event, so the event is already reflected.
 */
export class ReadModelProjector {
  readonly stats: ProjectionStats = { applied: 0, skipped: 0 };

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly reducers: Readonly<Record<string, Reducer>> = REDUCERS,
  ) {
    if (!tableName) throw new Error(`read model table name must be non-empty, got ${JSON.stringify(tableName)}`);
  }

  async project(record: Pick<DecodedRecord, 'data'>): Promise<ProjectionOutcome> {
    const item = itemFor(parseEgressEvent(record), this.reducers);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR #sequence < :sequence',
          ExpressionAttributeNames: { '#sequence': 'sequence' },
          ExpressionAttributeValues: { ':sequence': item.sequence },
        }),
      );
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'ConditionalCheckFailedException') {
        this.stats.skipped += 1;
        return 'skipped';
      }
      // Too large for DynamoDB is a property of the event: retrying cannot help.
      if (name === 'ValidationException' && /item size/i.test((e as Error).message)) {
        throw new DeadLetterError('VIEW_TOO_LARGE', `${item.pk}/${item.sk} #${item.sequence}: ${(e as Error).message}`);
      }
      throw e;
    }
    this.stats.applied += 1;
    return 'applied';
  }
}

export function documentClient(
  client: DynamoDBClient = new DynamoDBClient({ maxAttempts: 5 }),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Reads `READ_MODEL_TABLE`; the DynamoDB endpoint follows `AWS_ENDPOINT_URL_DYNAMODB` when set. */
export function projectorFromEnv(env: NodeJS.ProcessEnv = process.env): ReadModelProjector {
  const table = env.READ_MODEL_TABLE;
  if (!table) throw new Error('READ_MODEL_TABLE is not set: the projection needs its DynamoDB table name');
  return new ReadModelProjector(documentClient(), table);
}

/**
 * Builds the projection's Lambda handler (Kinesis event source mapping with ReportBatchItemFailures) around a
 * projector. Bad records are dead-lettered with their reason; DynamoDB errors stop the shard for a retry.
 */
export function createProjectionHandler(
  projector: ReadModelProjector | (() => ReadModelProjector),
  deadLetters?: DeadLetterSink,
): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  let instance = typeof projector === 'function' ? undefined : projector;
  const resolve = () => (instance ??= (projector as () => ReadModelProjector)());
  const { metrics } = createObservability('projection');
  const batch = kinesisHandler(
    'projection',
    async (record) => {
      await resolve().project(record);
    },
    deadLetters,
  );
  return async (event) => {
    const before = instance ? { ...instance.stats } : { applied: 0, skipped: 0 };
    try {
      return await batch(event);
    } finally {
      const after = instance?.stats ?? before;
      metrics.addMetric('ViewsApplied', MetricUnit.Count, after.applied - before.applied);
      metrics.addMetric('ViewsSkipped', MetricUnit.Count, after.skipped - before.skipped);
      metrics.publishStoredMetrics();
    }
  };
}

/** Lambda entry point: env READ_MODEL_TABLE, DEAD_LETTER_QUEUE_URL (set by LambdaStreamProcessor). */
export const handler = createProjectionHandler(() => projectorFromEnv());
