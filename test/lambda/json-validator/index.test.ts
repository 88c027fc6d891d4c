import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { processKinesisBatch } from '../../../lambda/shared/batch';
import { SqsDeadLetterSink } from '../../../lambda/shared/dead-letter';
import { DeadLetterError } from '../../../lambda/shared/errors';
import { validateRecord } from '../../../lambda/json-validator';
import { kinesisEvent, kinesisRecord } from '../../support/kinesis-events';
import { LOCAL_AWS, LocalServer, startMotoServer } from '../../support/local-servers';

const record = (body: string) => ({ data: Buffer.from(body) }) as Parameters<typeof validateRecord>[0];

describe('json-validator', () => {
  test('accepts an object with the required fields', () => {
    expect(validateRecord(record('{"id":"1","type":"x","extra":2}'), ['id', 'type'])).toEqual({
      id: '1',
      type: 'x',
      extra: 2,
    });
  });

  test.each([
    ['{"id":"1"}', 'SCHEMA', /missing required field\(s\): type/],
    ['{"id":null,"type":"x"}', 'SCHEMA', /missing required field\(s\): id/],
    ['[1,2]', 'SCHEMA', /expected a JSON object, got array/],
    ['"text"', 'SCHEMA', /expected a JSON object, got string/],
    ['{oops', 'MALFORMED_JSON', /./],
  ])('%s is dead-lettered as %s', (body, reason, detail) => {
    let error: unknown;
    try {
      validateRecord(record(body), ['id', 'type']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DeadLetterError);
    expect((error as DeadLetterError).reason).toBe(reason);
    expect((error as DeadLetterError).detail).toMatch(detail);
  });

  describe('with a real SQS dead-letter queue (moto)', () => {
    let moto: LocalServer;
    let sqs: SQSClient;
    beforeAll(async () => {
      moto = await startMotoServer();
      sqs = new SQSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
    });
    afterAll(async () => {
      sqs?.destroy();
      await moto?.stop();
    });

    test('every record ends processed or dead-lettered with its reason', async () => {
      const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'validator-dlq' }))).QueueUrl!;
      const bodies = ['{"id":"1","type":"a"}', '{"id":"2"}', 'not json', '{"id":"3","type":"b"}', '[]'];
      const event = kinesisEvent(bodies.map((b, i) => kinesisRecord(b, { sequenceNumber: String(i + 1) })));
      const report = await processKinesisBatch(event, (r) => void validateRecord(r, ['id', 'type']), {
        stage: 'json-validator',
        deadLetters: new SqsDeadLetterSink(sqs, queueUrl),
      });
      expect(report).toMatchObject({ received: 5, processed: 2, deadLettered: 3, failed: 0 });
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      const dead = (out.Messages ?? [])
        .map((m) => JSON.parse(m.Body!))
        .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
      expect(dead.map((d) => [d.sequenceNumber, d.reason, d.payload])).toEqual([
        ['2', 'SCHEMA', '{"id":"2"}'],
        ['3', 'MALFORMED_JSON', 'not json'],
        ['5', 'SCHEMA', '[]'],
      ]);
    });
  });
});
