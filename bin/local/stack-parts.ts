import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamRecord } from 'aws-lambda';
import { AssemblyStack } from './assembly';
import type { LocalFlinkMetrics } from './flink-runner';
import type { StageRecorder } from './report/model';

/**
 * Receives and deletes every message a queue holds, handing each body over: how a local run reads the dead-letter
 * queues and the event capture queue. A body `onBody` cannot parse is skipped (it throws), the message still deleted.
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string, onBody: (body: string) => void): Promise<void> {
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const messages = got.Messages ?? [];
    if (messages.length === 0) return;
    for (const m of messages) {
      try {
        onBody(m.Body ?? '');
      } catch {
        // not what the caller expected: left uncounted
      }
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}

/** The property groups of a Flink application in the template, unresolved, by group id. */
export function flinkPropertyGroups(stack: AssemblyStack, flinkId: string): Record<string, Record<string, unknown>> {
  const config = stack.template.Resources[flinkId]?.Properties?.ApplicationConfiguration as
    | {
        EnvironmentProperties?: {
          PropertyGroups?: Array<{ PropertyGroupId: string; PropertyMap: Record<string, unknown> }>;
        };
      }
    | undefined;
  return Object.fromEntries(
    (config?.EnvironmentProperties?.PropertyGroups ?? []).map((g) => [g.PropertyGroupId, g.PropertyMap]),
  );
}

/** One property group; fails naming the application and group when it is missing. */
export function flinkPropertyGroup(stack: AssemblyStack, flinkId: string, groupId: string): Record<string, unknown> {
  const group = flinkPropertyGroups(stack, flinkId)[groupId];
  if (!group) throw new Error(`${stack.name}/${flinkId} has no property group ${groupId}`);
  return group;
}

/**
 * The records of an invocation the event-source mapping counts as done: every record before the first one the
 * function's response reports in `batchItemFailures` (the mapping retries from that one on).
 */
export function recordsDone(records: readonly KinesisStreamRecord[], response: unknown): KinesisStreamRecord[] {
  const failed = new Set(
    ((response as { batchItemFailures?: Array<{ itemIdentifier: string }> } | undefined)?.batchItemFailures ?? []).map(
      (f) => f.itemIdentifier,
    ),
  );
  const first = records.findIndex((r) => failed.has(r.kinesis.sequenceNumber));
  return first < 0 ? [...records] : records.slice(0, first);
}

/** Hands a Flink job's checkpoints completed since `seen` to the stage; returns the new count seen. */
export function recordCheckpoints(stage: StageRecorder, metrics: LocalFlinkMetrics | undefined, seen: number): number {
  if (!metrics) return seen;
  for (let i = seen; i < metrics.checkpointsCompleted; i++)
    stage.checkpoint(metrics.lastCheckpointDurationMs ?? 0, true);
  return Math.max(seen, metrics.checkpointsCompleted);
}
