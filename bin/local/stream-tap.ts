import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { decodeRecord, DecodedRecord } from '../../lambda/shared/records';
import { KinesisEventSourceMapping } from './event-source-mapping';

/**
 * Reads every record of a local stream from its oldest, de-aggregating KPL aggregates as consumers do, and hands
 * each user record to `onRecord`: how a local run observes a stream it does not own (an output, a dead-letter
 * stream). It is an event-source poller with a consumer that never fails.
 */
export class StreamTap {
  private readonly poller: KinesisEventSourceMapping;
  /** User records seen (aggregates counted by their user records). */
  public records = 0;

  constructor(
    client: KinesisClient,
    streamName: string,
    onRecord: (record: DecodedRecord, arrivalMs: number) => void = () => undefined,
  ) {
    this.poller = new KinesisEventSourceMapping({
      properties: { BatchSize: 1000, StartingPosition: 'TRIM_HORIZON' },
      streamName,
      client,
      pollIntervalMs: 250,
      shardDiscoveryIntervalMs: 2000,
      invoke: async (event) => {
        for (const record of (event as { Records: KinesisStreamRecord[] }).Records) {
          const arrival = record.kinesis.approximateArrivalTimestamp * 1000;
          let users: DecodedRecord[];
          try {
            users = decodeRecord(record);
          } catch {
            // A malformed aggregate is one record as far as counting goes, handed over whole.
            users = [
              {
                data: Buffer.from(record.kinesis.data, 'base64'),
                partitionKey: record.kinesis.partitionKey,
                sequenceNumber: record.kinesis.sequenceNumber,
                subSequenceNumber: 0,
                shardId: record.eventID.split(':')[0],
                approximateArrivalTimestamp: arrival,
              },
            ];
          }
          for (const user of users) {
            this.records += 1;
            onRecord(user, arrival);
          }
        }
        return {};
      },
    });
  }

  public start(): Promise<void> {
    return this.poller.start();
  }

  public stop(): Promise<void> {
    return this.poller.stop();
  }

  /** Milliseconds the tap is behind the newest record of its stream (the largest over shards). */
  public lagMs(): number {
    return Math.max(0, ...this.poller.metrics().shards.map((s) => s.iteratorAgeMs));
  }
}
