import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, GetCommandOutput, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterSink } from '../../../lambda/shared/dead-letter';
import { aggregate } from '../../../lambda/shared/kpl';
import { createHandler } from '../../../lambda/timeseries-calculator';
import { mergePart, WindowAggregate, WindowPart } from '../../../lambda/timeseries-calculator/merge';
import {
  AnomalyPublisher,
  LatestStateStore,
  latestStateItem,
  RECENT_EVENT_IDS_KEY_PREFIX,
} from '../../../lambda/timeseries-calculator/sinks';
import { QuantileSketch } from '../../../lambda/timeseries-calculator/sketch';
import { decodeState } from '../../../lambda/timeseries-calculator/state-codec';
import {
  AggregatePoint,
  InfluxV1Writer,
  toLineProtocol,
} from '../../../lambda/timeseries-calculator/time-series-writer';
import {
  LOCAL_AWS,
  LocalServer,
  startDynalite,
  startInfluxDb,
  startMotoServer,
  createInfluxDatabase,
  queryInflux,
} from '../../support/local-servers';
import { enriched, kinesisRecord, SHARD, windowEvent } from './events';

const W0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const W1 = W0 + 60_000;

const createDatabase = createInfluxDatabase;
const influxQuery = queryInflux;

async function drain(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!res.Messages?.length) return out;
    out.push(...res.Messages.map((m) => m.Body!));
  }
}

const point = (deviceId: string, mean: number): AggregatePoint => ({
  deviceId,
  metric: 'temperature',
  site: 'plant 1',
  windowStart: W0,
  windowEnd: W1,
  summary: { count: 3, min: 1, max: 3, mean, stddev: 0.5, percentile: 2.9 },
});

describe('time-series calculator adapters and handler against local servers', () => {
  let influx: LocalServer;
  let dynalite: LocalServer;
  let moto: LocalServer;
  let ddb: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let events: EventBridgeClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    [influx, dynalite, moto] = await Promise.all([startInfluxDb(), startDynalite(), startMotoServer()]);
    ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynalite.endpoint });
    doc = DynamoDBDocumentClient.from(ddb);
    events = new EventBridgeClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
    sqs = new SQSClient({ ...LOCAL_AWS, endpoint: moto.endpoint });
  }, 60_000);
  afterAll(async () => {
    for (const c of [ddb, events, sqs]) c?.destroy();
    await Promise.all([influx?.stop(), dynalite?.stop(), moto?.stop()]);
  });

  async function table(name: string): Promise<void> {
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: 'deviceId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'deviceId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    while ((await ddb.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE') {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** An event bus whose anomaly events land in an SQS queue we can read. */
  async function busWithQueue(name: string): Promise<string> {
    await events.send(new CreateEventBusCommand({ Name: name }));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-events` }))).QueueUrl!;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn;
    await events.send(
      new PutRuleCommand({
        Name: 'anomalies',
        EventBusName: name,
        EventPattern: JSON.stringify({ source: ['cdk-streaming-patterns.timeseries'] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: 'anomalies', EventBusName: name, Targets: [{ Id: 'q', Arn: arn }] }),
    );
    return queueUrl;
  }

  test('line protocol escapes tags and types count as an integer', () => {
    // Fields sorted by key, as @influxdata/influxdb-client writes them (line-protocol.test.ts compares every line).
    expect(toLineProtocol([point('dev,1', 2.5)], 'p95')).toBe(
      `telemetry,deviceId=dev\\,1,metric=temperature,site=plant\\ 1 count=3i,max=3,mean=2.5,min=1,p95=2.9,stddev=0.5 ${W1}`,
    );
  });

  test('InfluxDB v1: points are written and a retried write overwrites instead of adding', async () => {
    await createDatabase(influx.endpoint, 'adapter');
    const writer = new InfluxV1Writer({ url: influx.endpoint, database: 'adapter', percentileField: 'p95' });
    await writer.write([point('d1', 2), point('d2', 5)]);
    await writer.write([point('d1', 2.25)]);
    const rows = await influxQuery(influx.endpoint, 'adapter', 'SELECT * FROM telemetry GROUP BY *');
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.deviceId === 'd1')).toMatchObject({
      time: W1,
      count: 3,
      mean: 2.25,
      p95: 2.9,
      site: 'plant 1',
    });
    await expect(
      new InfluxV1Writer({ url: influx.endpoint, database: 'missing', percentileField: 'p95' }).write([point('d', 1)]),
    ).rejects.toThrow(/InfluxDB write to missing failed: HTTP 404/);
  });

  test('InfluxDB v1: tag values with separators, backslashes and line breaks are stored as the official client stores them', async () => {
    // `site` comes from the reference data, free text: a line break in it used to split the line, InfluxDB answered
    // 400 and the final invoke was retried until the records expired. Line protocol cannot carry a line break, so it
    // is stored as the two characters `\n` (as the client writes it); a trailing backslash cannot be carried at all,
    // so that point is rejected for the caller to dead-letter.
    await createDatabase(influx.endpoint, 'escapes');
    const writer = new InfluxV1Writer({ url: influx.endpoint, database: 'escapes', percentileField: 'p95' });
    const sites = ['a=b,c d', 'ends with\\', 'back\\slash', 'line\nbreak', 'carriage\r\nreturn', 'mid\\ space'];
    const result = await writer.write(sites.map((site, i) => ({ ...point(`d${i}`, i), site })));
    expect(result.rejected.map((r) => [r.point.deviceId, r.reason])).toEqual([['d1', 'INFLUX_TRAILING_BACKSLASH']]);
    const rows = await influxQuery(influx.endpoint, 'escapes', 'SELECT * FROM telemetry GROUP BY *');
    expect(Object.fromEntries(rows.map((r) => [r.deviceId, r.site]))).toEqual({
      d0: 'a=b,c d',
      d2: 'back\\slash',
      d3: 'line\\nbreak',
      d4: 'carriage\\r\\nreturn',
      d5: 'mid\\ space',
    });
    expect(rows.map((r) => r.mean)).toEqual([0, 2, 3, 4, 5]);
  });

  test('DynamoDB: an older window never overwrites a newer one; the same window may be rewritten', async () => {
    await table('latest-adapter');
    const store = new LatestStateStore(ddb, 'latest-adapter');
    const item = (end: number, mean: number) =>
      latestStateItem(
        'd1',
        end - 60_000,
        end,
        new Map([['t', { count: 1, min: mean, max: mean, mean, stddev: 0, percentile: mean }]]),
        'p95',
        [],
        new Map(),
        1,
      );
    expect(await store.putAll([item(W1 + 60_000, 2)])).toEqual({ written: 1, skippedOlder: 0 });
    expect(await store.putAll([item(W1, 1)])).toEqual({ written: 0, skippedOlder: 1 });
    expect(await store.putAll([item(W1 + 60_000, 3)])).toEqual({ written: 1, skippedOlder: 0 });
    const got = await doc.send(new GetCommand({ TableName: 'latest-adapter', Key: { deviceId: 'd1' } }));
    expect(got.Item).toMatchObject({ windowEnd: W1 + 60_000, metrics: { t: { mean: 3, p95: 3 } } });
  });

  test('DynamoDB: parts of one window merged at the same time (two shards) lose neither merge', async () => {
    // Each merge is a put conditional on the version read; the loser reads again and merges again. Four writers: each
    // conflicts at most three times, within MAX_MERGE_ATTEMPTS (5).
    await table('concurrent-latest');
    const store = new LatestStateStore(ddb, 'concurrent-latest');
    const part = (partId: string, value: number): WindowPart => {
      const sketch = new QuantileSketch();
      sketch.add(value);
      return {
        windowStart: W0,
        windowEnd: W1,
        partId,
        metrics: new Map([['t', { count: 1, mean: value, m2: 0, min: value, max: value, sketch }]]),
        anomalies: [],
        baseline: new Map(),
        updatedAt: 1,
      };
    };
    const merge = (_id: string, stored: WindowAggregate | undefined, p: WindowPart) => mergePart(stored, p, 500);
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => store.mergeAll([{ deviceId: 'd1', part: part(`shard-${i}@1:0`, i) }], merge)),
    );
    expect(outcomes.every((o) => ['merged', 'replaced'].includes(o.get('d1')!.kind))).toBe(true);
    const stored = (await store.loadAggregates(['d1'])).get('d1')!;
    expect(stored.version).toBe(4);
    expect([...stored.aggregate.parts].sort()).toEqual(Array.from({ length: 4 }, (_, i) => `shard-${i}@1:0`));
    expect(stored.aggregate.metrics.get('t')).toMatchObject({ count: 4, min: 0, max: 3, mean: 1.5 });
    // The same parts again: recognised, nothing written.
    const again = await store.mergeAll([{ deviceId: 'd1', part: part('shard-2@1:0', 2) }], merge);
    expect(again.get('d1')!.kind).toBe('already-merged');
    expect((await store.loadAggregates(['d1'])).get('d1')!.version).toBe(4);
  });

  test('EventBridge: anomalies are published in batches of 10 with the contract source and detail type', async () => {
    const queueUrl = await busWithQueue('adapter-bus');
    const anomalies = Array.from({ length: 23 }, (_, i) => ({
      deviceId: `d${i}`,
      metric: 't',
      value: 9,
      zScore: 5,
      baselineMean: 1,
      baselineStdDev: 1,
      windowStart: W0,
      windowEnd: W1,
      eventId: `e${i}`,
      timestamp: W0,
    }));
    await new AnomalyPublisher({ client: events, eventBusName: 'adapter-bus' }).publish(anomalies);
    const received = (await drain(sqs, queueUrl)).map((b) => JSON.parse(b));
    expect(received).toHaveLength(23);
    expect(received[0]).toMatchObject({
      source: 'cdk-streaming-patterns.timeseries',
      'detail-type': 'TelemetryAnomaly',
    });
    expect(new Set(received.map((e) => e.detail.eventId))).toEqual(new Set(anomalies.map((a) => a.eventId)));
  });

  test('full handler: several invocations, a redelivery, the final invoke; results in InfluxDB, DynamoDB, EventBridge and SQS', async () => {
    await createDatabase(influx.endpoint, 'telemetry');
    await table('latest');
    const eventsQueue = await busWithQueue('telemetry-bus');
    const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'calculator-dlq' }))).QueueUrl!;
    // d1 has a baseline from earlier windows: mean 21, stddev 0.3.
    await doc.send(
      new PutCommand({
        TableName: 'latest',
        Item: {
          deviceId: 'd1',
          windowStart: W0 - 60_000,
          windowEnd: W0,
          metrics: {},
          anomalies: [],
          updatedAt: 1,
          baseline: { temperature: { mean: 21, variance: 0.09, samples: 1000 } },
        },
      }),
    );
    const env = {
      TIME_SERIES_BACKEND: 'influxdb',
      INFLUX_API: 'v1',
      INFLUX_URL: influx.endpoint,
      INFLUX_BUCKET: 'telemetry',
      LATEST_STATE_TABLE: 'latest',
      EVENT_BUS_NAME: 'telemetry-bus',
      ANOMALY_Z_THRESHOLD: '3',
      PERCENTILE: '95',
    };
    const handler = createHandler(
      env,
      {
        timeSeries: new InfluxV1Writer({ url: influx.endpoint, database: 'telemetry', percentileField: 'p95' }),
        latestState: new LatestStateStore(ddb, 'latest'),
        anomalies: new AnomalyPublisher({ client: events, eventBusName: 'telemetry-bus' }),
      },
      new SqsDeadLetterSink(sqs, dlqUrl),
    );
    const json = (r: object) => JSON.stringify(r);
    const batch1 = [
      kinesisRecord(1, json(enriched('e1', 'd1', { temperature: 21.1, humidity: 40 })), 'd1'),
      kinesisRecord(2, json(enriched('e2', 'd2', { temperature: 18 }, undefined, 'plant-2')), 'd2'),
      kinesisRecord(3, '{"eventId": "broken"', 'd1'),
      kinesisRecord(4, json({ ...enriched('e4', 'd1', { temperature: 1 }), metrics: { temperature: '1' } }), 'd1'),
    ];
    const r1 = await handler(windowEvent(batch1, undefined));
    expect(r1.batchItemFailures).toEqual([]);
    // A KPL aggregate with a duplicate eventId (e1 again) and an anomaly for d1 (z = (25 - 21) / 0.3 > 3).
    const agg = aggregate([
      { partitionKey: 'd1', data: Buffer.from(json(enriched('e5', 'd1', { temperature: 20.9, humidity: 42 }))) },
      { partitionKey: 'd1', data: Buffer.from(json(enriched('e1', 'd1', { temperature: 21.1, humidity: 40 }))) },
      { partitionKey: 'd1', data: Buffer.from(json(enriched('e6', 'd1', { temperature: 25 }))) },
    ]);
    const batch2 = [
      kinesisRecord(5, agg, 'd1'),
      kinesisRecord(6, json(enriched('e7', 'd2', { temperature: 20 }, undefined, 'plant-2')), 'd2'),
    ];
    const r2 = await handler(windowEvent(batch2, r1.state));
    // Lambda redelivers batch 2 (e.g. after a timeout) with the state of the successful call: nothing is counted twice.
    const r2again = await handler(windowEvent(batch2, r2.state));
    expect(r2again.state).toEqual(r2.state);
    const final = await handler(windowEvent([], r2again.state, { final: true }));
    expect(final.batchItemFailures).toEqual([]);
    // A retried final invoke (e.g. the response was lost) writes the same results again without duplicating them.
    await handler(windowEvent([], r2again.state, { final: true }));

    const rows = await influxQuery(influx.endpoint, 'telemetry', 'SELECT * FROM telemetry GROUP BY *');
    const row = (d: string, m: string) => rows.find((r) => r.deviceId === d && r.metric === m);
    expect(rows).toHaveLength(3);
    // d1 temperature: 21.1, 20.9, 25 (e1 once): mean 22.333.., population stddev sqrt(((−1.2333)^2+(−1.4333)^2+(2.6667)^2)/3).
    expect(row('d1', 'temperature')).toMatchObject({ time: W1, count: 3, min: 20.9, max: 25, site: 'plant-1' });
    expect(row('d1', 'temperature')!.mean as number).toBeCloseTo(67 / 3, 10);
    const m = 67 / 3;
    expect(row('d1', 'temperature')!.stddev as number).toBeCloseTo(
      Math.sqrt(((21.1 - m) ** 2 + (20.9 - m) ** 2 + (25 - m) ** 2) / 3),
      10,
    );
    // p95 of [20.9, 21.1, 25] at rank floor(0.95 * 2) = 1 is 21.1, within the sketch's 1 %.
    expect(Math.abs((row('d1', 'temperature')!.p95 as number) - 21.1) / 21.1).toBeLessThanOrEqual(0.01);
    expect(row('d1', 'humidity')).toMatchObject({ count: 2, mean: 41, min: 40, max: 42 });
    expect(row('d2', 'temperature')).toMatchObject({ count: 2, mean: 19, stddev: 1, site: 'plant-2' });

    const d1 = (await doc.send(new GetCommand({ TableName: 'latest', Key: { deviceId: 'd1' } }))).Item!;
    expect(d1).toMatchObject({
      deviceId: 'd1',
      windowStart: W0,
      windowEnd: W1,
      metrics: { humidity: { count: 2, mean: 41 } },
    });
    expect(d1.anomalies).toEqual([expect.objectContaining({ eventId: 'e6', metric: 'temperature', value: 25 })]);
    expect(d1.baseline.temperature.samples).toBe(1003);
    const d2 = (await doc.send(new GetCommand({ TableName: 'latest', Key: { deviceId: 'd2' } }))).Item!;
    expect(d2).toMatchObject({
      windowEnd: W1,
      metrics: { temperature: { count: 2, mean: 19, stddev: 1 } },
      anomalies: [],
    });

    // One anomaly, published once per final invoke (the retried final invoke republished it: consumers dedupe by eventId).
    const anomalyEvents = (await drain(sqs, eventsQueue)).map((b) => JSON.parse(b));
    expect(anomalyEvents.map((e) => e.detail.eventId)).toEqual(['e6', 'e6']);
    expect(anomalyEvents[0].detail).toMatchObject({
      deviceId: 'd1',
      metric: 'temperature',
      value: 25,
      windowStart: W0,
      windowEnd: W1,
    });
    // The baseline moved a little with e1 and e5 before e6 arrived.
    expect(anomalyEvents[0].detail.baselineMean).toBeCloseTo(21, 3);
    expect(anomalyEvents[0].detail.zScore).toBeGreaterThan(12);
    expect(anomalyEvents[0].detail.zScore).toBeLessThan(14);

    // The two bad records are dead-lettered with their reason, once each despite the redelivery.
    const dead = (await drain(sqs, dlqUrl)).map((b) => JSON.parse(b));
    expect(dead.map((d) => d.reason).sort()).toEqual(['MALFORMED_JSON', 'SCHEMA']);
    expect(dead.find((d) => d.reason === 'SCHEMA')).toMatchObject({
      stage: 'timeseries-calculator',
      detail: "metrics.temperature must be a number, got string '1'",
    });
    // received = aggregated + duplicates + dead-lettered: 8 user records = 5 aggregated + 1 duplicate + 2 dead letters.
    expect(decodeState(r2.state.user as string)).toMatchObject({ anomaliesDropped: 0, applied: 5, duplicates: 1 });
    expect(dead).toHaveLength(2);
  });

  test('a record written again into a later window (the enrichment job after a failover) is counted in its first window only', async () => {
    await createDatabase(influx.endpoint, 'rewritten');
    await table('latest-rewritten');
    const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'rewritten-dlq' }))).QueueUrl!;
    const handler = createHandler(
      { TIME_SERIES_BACKEND: 'none' },
      {
        timeSeries: new InfluxV1Writer({ url: influx.endpoint, database: 'rewritten', percentileField: 'p95' }),
        latestState: new LatestStateStore(ddb, 'latest-rewritten'),
      },
      new SqsDeadLetterSink(sqs, dlqUrl),
    );
    const json = (r: object) => JSON.stringify(r);
    const w1 = { start: '2026-11-29T08:01:00Z', end: '2026-11-29T08:02:00Z' };
    const first = [1, 2, 3].map((n) => kinesisRecord(n, json(enriched(`e${n}`, 'd1', { temperature: n })), 'd1'));
    const r0 = await handler(windowEvent(first, undefined));
    await handler(windowEvent([], r0.state, { final: true }));
    // Window 2 receives e2 and e3 again (new sequence numbers: the job wrote them again), and e4 for the first time.
    const again = [
      kinesisRecord(4, json(enriched('e2', 'd1', { temperature: 2 })), 'd1'),
      kinesisRecord(5, json(enriched('e4', 'd1', { temperature: 4 })), 'd1'),
      kinesisRecord(6, json(enriched('e3', 'd1', { temperature: 3 })), 'd1'),
    ];
    const r1 = await handler(windowEvent(again, undefined, w1));
    expect(decodeState(r1.state.user as string)).toMatchObject({ applied: 1, duplicates: 2 });
    // A redelivery of window 2's batch with no state (a retry before the first state) is not double counted either.
    const retried = await handler(windowEvent(again, undefined, w1));
    expect(decodeState(retried.state.user as string)).toMatchObject({ applied: 1, duplicates: 2 });
    await handler(windowEvent([], r1.state, { ...w1, final: true }));

    const rows = await influxQuery(influx.endpoint, 'rewritten', 'SELECT * FROM telemetry GROUP BY *');
    expect(rows.map((r) => ({ time: r.time, count: r.count, mean: r.mean }))).toEqual([
      { time: W1, count: 3, mean: 2 },
      { time: W1 + 60_000, count: 1, mean: 4 },
    ]);
    // The shard's memory is stored beside the latest state, under a key no device id can have.
    const recent = (
      await doc.send(
        new GetCommand({ TableName: 'latest-rewritten', Key: { deviceId: RECENT_EVENT_IDS_KEY_PREFIX + SHARD } }),
      )
    ).Item!;
    expect({ windowEnd: recent.windowEnd, eventIds: JSON.parse(recent.eventIds) }).toEqual({
      windowEnd: W1 + 60_000,
      eventIds: ['e1', 'e2', 'e3', 'e4'],
    });
    // An older window's retried final invoke does not move the memory back.
    await handler(windowEvent([], r0.state, { final: true }));
    const after = (
      await doc.send(
        new GetCommand({ TableName: 'latest-rewritten', Key: { deviceId: RECENT_EVENT_IDS_KEY_PREFIX + SHARD } }),
      )
    ).Item!;
    expect(after.windowEnd).toBe(W1 + 60_000);
  });

  test('regression (issue 8, classes 1, 3, 6): numbers beyond 2^53, prototype names and an unstorable point neither stall nor lose data', async () => {
    await createDatabase(influx.endpoint, 'hostile');
    await table('hostile-latest');
    const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'hostile-dlq' }))).QueueUrl!;
    const handler = createHandler(
      { TIME_SERIES_BACKEND: 'none' },
      {
        timeSeries: new InfluxV1Writer({ url: influx.endpoint, database: 'hostile', percentileField: 'p95' }),
        latestState: new LatestStateStore(ddb, 'hostile-latest'),
      },
      new SqsDeadLetterSink(sqs, dlqUrl),
    );
    const json = (r: object) => JSON.stringify(r);
    // Lambda hands the state back as JSON: a device named __proto__ must survive that.
    const viaLambda = (state: unknown) => JSON.parse(JSON.stringify(state));
    const r1 = await handler(
      windowEvent(
        [
          kinesisRecord(1, json(enriched('h1', '__proto__', { constructor: 1e16, toString: 3 })), '__proto__'),
          kinesisRecord(2, json(enriched('h2', 'tiny', { temperature: 1e-200 })), 'tiny'),
          // A site that ends with a backslash cannot be written as an InfluxDB tag.
          kinesisRecord(3, json(enriched('h3', 'slash', { temperature: 1 }, undefined, 'plant\\')), 'slash'),
        ],
        undefined,
      ),
    );
    expect(r1.batchItemFailures).toEqual([]);
    const r2 = await handler(
      windowEvent(
        [kinesisRecord(4, json(enriched('h4', '__proto__', { constructor: -2e16 })), '__proto__')],
        viaLambda(r1.state),
      ),
    );
    const final = await handler(windowEvent([], viaLambda(r2.state), { final: true }));
    expect(final.batchItemFailures).toEqual([]);

    const proto = (await doc.send(new GetCommand({ TableName: 'hostile-latest', Key: { deviceId: '__proto__' } })))
      .Item!;
    expect(proto.metrics.constructor).toMatchObject({ count: 2, min: -2e16, max: 1e16 });
    expect(proto.metrics.toString).toMatchObject({ count: 1, mean: 3 });
    // DynamoDB holds no magnitude below 1e-130: stored as 0, in InfluxDB as it is.
    const tiny = (await doc.send(new GetCommand({ TableName: 'hostile-latest', Key: { deviceId: 'tiny' } }))).Item!;
    expect(tiny.metrics.temperature).toMatchObject({ count: 1, mean: 0 });
    const rows = await influxQuery(influx.endpoint, 'hostile', 'SELECT * FROM telemetry GROUP BY *');
    expect(rows.map((r) => `${r.deviceId}/${r.metric}`).sort()).toEqual([
      '__proto__/constructor',
      '__proto__/toString',
      'tiny/temperature',
    ]);
    expect(rows.find((r) => r.deviceId === 'tiny')!.mean).toBe(1e-200);
    const dead = (await drain(sqs, dlqUrl)).map((b) => JSON.parse(b));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ reason: 'INFLUX_TRAILING_BACKSLASH', stage: 'timeseries-calculator' });
    expect(JSON.parse(dead[0].payload)).toMatchObject({ deviceId: 'slash', metric: 'temperature' });
  });
  test('regression (issue 8, class 10): a window ended early gives the same points and latest state as one part, and a retried final invoke of either part changes nothing', async () => {
    // Lambda ends a window early when its state outgrows 1 MB: the first part's final invoke carries
    // isWindowTerminatedEarly, the rest of the window arrives with a fresh state and is finished again with the same
    // window end. The second part used to overwrite the first part's points and latest state.
    const json = (r: object) => JSON.stringify(r);
    const records = Array.from({ length: 20 }, (_, i) => {
      const temperature = i === 3 ? 25 : i === 15 ? 26 : 20 + ((i * 7) % 11) / 10;
      const metrics: Record<string, number> = i % 4 === 1 ? { temperature } : { temperature, humidity: 40 + (i % 5) };
      const device = i % 3 === 2 ? 'd2' : 'd1';
      return kinesisRecord(i + 1, json(enriched(`x${i}`, device, metrics)), device);
    });
    const dlqs: string[] = [];
    const setUp = async (name: string) => {
      await createDatabase(influx.endpoint, name);
      await table(`${name}-latest`);
      await doc.send(
        new PutCommand({
          TableName: `${name}-latest`,
          Item: {
            deviceId: 'd1',
            windowStart: W0 - 60_000,
            windowEnd: W0,
            metrics: {},
            anomalies: [],
            updatedAt: 1,
            baseline: { temperature: { mean: 21, variance: 0.09, samples: 1000 } },
          },
        }),
      );
      const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
      dlqs.push(dlq);
      return createHandler(
        { TIME_SERIES_BACKEND: 'none' },
        {
          timeSeries: new InfluxV1Writer({ url: influx.endpoint, database: name, percentileField: 'p95' }),
          latestState: new LatestStateStore(ddb, `${name}-latest`),
        },
        new SqsDeadLetterSink(sqs, dlq),
      );
    };
    const viaLambda = (state: unknown) => JSON.parse(JSON.stringify(state));
    const finalEvent = (state: unknown, early = false) => ({
      ...windowEvent([], viaLambda(state), { final: true }),
      isWindowTerminatedEarly: early,
    });
    const results = async (name: string) => {
      const rows = await influxQuery(influx.endpoint, name, 'SELECT * FROM telemetry GROUP BY *');
      const items: Record<string, NonNullable<GetCommandOutput['Item']>> = {};
      for (const id of ['d1', 'd2']) {
        items[id] = (await doc.send(new GetCommand({ TableName: `${name}-latest`, Key: { deviceId: id } }))).Item!;
      }
      return { rows, items };
    };

    // GIVEN the same records, in one part and in two
    const whole = await setUp('whole');
    const w1 = await whole(windowEvent(records.slice(0, 10), undefined));
    const w2 = await whole(windowEvent(records.slice(10), viaLambda(w1.state)));
    expect((await whole(finalEvent(w2.state))).batchItemFailures).toEqual([]);

    const split = await setUp('split');
    const s1 = await split(windowEvent(records.slice(0, 10), undefined));
    const f1 = finalEvent(s1.state, true);
    expect((await split(f1)).batchItemFailures).toEqual([]);
    const afterPart1 = await results('split');
    const s2 = await split(windowEvent(records.slice(10), undefined));
    const f2 = finalEvent(s2.state);
    expect((await split(f2)).batchItemFailures).toEqual([]);

    // THEN the split window's result is the merge of both parts: InfluxDB points...
    const one = await results('whole');
    const two = await results('split');
    expect(afterPart1.items.d1.metrics.temperature.count).toBe(7);
    const key = (r: Record<string, unknown>) => `${r.deviceId}/${r.metric}`;
    expect(two.rows.map(key).sort()).toEqual(['d1/humidity', 'd1/temperature', 'd2/humidity', 'd2/temperature']);
    expect(two.rows.map(key).sort()).toEqual(one.rows.map(key).sort());
    for (const r of one.rows) {
      const m = two.rows.find((x) => key(x) === key(r))!;
      expect(m).toMatchObject({ time: W1, count: r.count, min: r.min, max: r.max, p95: r.p95, site: r.site });
      expect(m.mean as number).toBeCloseTo(r.mean as number, 10);
      expect(m.stddev as number).toBeCloseTo(r.stddev as number, 10);
    }
    expect(one.rows.find((r) => key(r) === 'd1/temperature')).toMatchObject({ count: 14, max: 26 });
    // ... and the latest state, anomalies of both parts included, the baseline carried from part to part.
    for (const id of ['d1', 'd2']) {
      const { updatedAt: _a, metrics: m1, baseline: b1, ...rest1 } = one.items[id];
      const { updatedAt: _b, metrics: m2, baseline: b2, ...rest2 } = two.items[id];
      expect(rest2).toEqual(rest1);
      expect(Object.keys(m2).sort()).toEqual(Object.keys(m1).sort());
      for (const [metric, s] of Object.entries(m1 as Record<string, Record<string, number>>)) {
        const t = (m2 as Record<string, Record<string, number>>)[metric];
        expect([t.count, t.min, t.max, t.p95]).toEqual([s.count, s.min, s.max, s.p95]);
        expect(t.mean).toBeCloseTo(s.mean, 10);
        expect(t.stddev).toBeCloseTo(s.stddev, 10);
      }
      expect(b2).toEqual(b1);
    }
    // x0 (20 against 21 ± 0.3) and x3 in the first part, x15 in the second.
    expect(two.items.d1.anomalies.map((a: { eventId: string }) => a.eventId)).toEqual(['x0', 'x3', 'x15']);
    // What GET /items/{deviceId} returns has the same attributes as before; the aggregate is an item of its own.
    expect(Object.keys(two.items.d1).sort()).toEqual(Object.keys(one.items.d1).sort());
    const aggregate = (await doc.send(new GetCommand({ TableName: 'split-latest', Key: { deviceId: 'd1#window' } })))
      .Item!;
    expect(aggregate).toMatchObject({ windowStart: W0, windowEnd: W1, version: 2 });
    expect(JSON.parse(aggregate.aggregate).p).toHaveLength(2);

    // WHEN either part's final invoke is retried (the response was lost, say), nothing changes.
    await split(f2);
    await split(f1);
    expect(await results('split')).toEqual(two);
    expect(
      (await doc.send(new GetCommand({ TableName: 'split-latest', Key: { deviceId: 'd1#window' } }))).Item,
    ).toEqual(aggregate);
    for (const q of dlqs) expect(await drain(sqs, q)).toEqual([]);
  });
});
