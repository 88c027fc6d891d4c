import * as fs from 'fs';
import * as path from 'path';
import type { App as AppType, AppProps } from 'aws-cdk-lib';
import type { KinesisStreamEvent } from 'aws-lambda';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { applyNagChecks } from '../../bin/nag';
import { kinesisEvent, kinesisRecord } from '../support/kinesis-events';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { markdownFiles, markedBlocks, renderExample } = require('../../scripts/sync-examples');

/**
 * Every TypeScript sample of README.md, lib/<area>/README.md, lambda/<handler>/README.md and docs/*.md is a file under
 * examples/ (compiled by the typecheck, like any source), shown verbatim after an `<!-- example: ... -->` marker (`npm run docs:examples`
 * copies it). This test keeps them honest: no unmarked sample, no drifted sample, no example nobody shows, and every
 * example runs: each App a construction sample creates synthesizes with the repository's cdk-nag checks, handler
 * samples answer a small event.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');

interface Block {
  line: number;
  file: string;
  region?: string;
  content: string;
}

/** Every App the examples create, in creation order; bundling is skipped (the entry files must still exist). */
const mockApps: AppType[] = [];
jest.mock('aws-cdk-lib', () => {
  const actual = jest.requireActual('aws-cdk-lib');
  // With EXAMPLES_OUTDIR set (npm test), each App writes its assembly to a folder of its own there, for cfn-lint.
  let apps = 0;
  class RecordedApp extends actual.App {
    constructor(props: AppProps = {}) {
      const root = process.env.EXAMPLES_OUTDIR;
      const outdir = root ? jest.requireActual('path').join(root, `app-${++apps}`) : props.outdir;
      // A user's app has the feature flags `cdk init` writes into its cdk.json.
      const flags = jest.requireActual('aws-cdk-lib/recommended-feature-flags.json');
      super({ ...props, outdir, context: { ...flags, ...props.context, 'aws:cdk:bundling-stacks': [] } });
      mockApps.push(this as unknown as AppType);
    }
  }
  // Inherit the rest (the service namespaces are lazy getters: copying them would load all of aws-cdk-lib).
  return Object.create(actual, { App: { value: RecordedApp, enumerable: true } });
});

/** Runs an example as its own module (once: jest keeps it in the registry) and returns its exports. */
function load(file: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(ROOT, file));
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const markdown = (markdownFiles(ROOT) as string[]).map((md) => ({
  md,
  text: fs.readFileSync(path.join(ROOT, md), 'utf8'),
}));
const blocks = markdown.flatMap(({ md, text }) =>
  (markedBlocks(text, md) as Block[]).map((b) => ({
    ...b,
    md,
    ref: `${md}:${b.line} ${b.file}${b.region ? `#${b.region}` : ''}`,
  })),
);
const exampleFiles = filesUnder(EXAMPLES)
  .map((f) => path.relative(ROOT, f).split(path.sep).join('/'))
  .sort();

describe('README samples are examples/ files', () => {
  test('the markdown files include the READMEs of the areas and the docs', () => {
    expect(markdown.map((m) => m.md)).toEqual(
      expect.arrayContaining(['README.md', 'lib/storage/README.md', 'docs/event-sourced-microservices.md']),
    );
    expect(blocks.length).toBeGreaterThanOrEqual(25);
  });

  test('every ```ts block has an example marker', () => {
    const unmarked = markdown.flatMap(({ md, text }) => {
      const lines = text.split('\n');
      return lines.flatMap((line, i) => {
        if (!/^\s*```(ts|typescript|tsx)\s*$/.test(line)) return [];
        return /^\s*<!-- example: \S+ -->\s*$/.test(lines[i - 1] ?? '') ? [] : [`${md}:${i + 1}`];
      });
    });
    expect(unmarked).toEqual([]);
  });

  test.each(blocks.map((b) => [b.ref, b]))('%s equals its file', (_ref, block) => {
    expect(block.content).toEqual(renderExample(block.file, block.region, ROOT));
  });

  test('every file under examples/ is shown by some marker', () => {
    const shown = new Set(blocks.map((b) => b.file));
    expect(exampleFiles.filter((f) => !shown.has(f))).toEqual([]);
    expect(exampleFiles.length).toBeGreaterThanOrEqual(20);
  });
});

/** Examples that build an app: every file importing aws-cdk-lib. */
const constructionExamples = exampleFiles.filter((f) =>
  /from 'aws-cdk-lib'/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')),
);

describe('construction examples synthesize with cdk-nag', () => {
  test.each(constructionExamples)('%s', (file) => {
    const before = mockApps.length;
    load(file);
    const apps = mockApps.slice(before);
    expect(apps.length).toBeGreaterThan(0);
    for (const app of apps) {
      applyNagChecks(app);
      // Unacknowledged cdk-nag findings and construct validation errors throw here.
      const assembly = app.synth();
      expect(assembly.stacks.length).toBeGreaterThan(0);
      const errors = assembly.stacks.flatMap((s) => s.messages.filter((m) => m.level === 'error'));
      expect(errors).toEqual([]);
    }
  });
});

const KINESIS_HANDLERS = ['examples/readme/audit-handler.ts', 'examples/processing/handler.ts'];
const DYNAMODB_CDC_HANDLER = 'examples/ingestion/dynamodb-cdc-handler.ts';
const REMOTE_FUNCTIONS = [
  'examples/processing/functions/order.ts',
  'examples/docs/functions/shipping/index.ts',
  'examples/functions/counter.ts',
];

describe('other examples run', () => {
  test('every example that builds no app has a run test here', () => {
    const others = exampleFiles.filter((f) => !constructionExamples.includes(f));
    expect(others.sort()).toEqual(
      ['examples/storage/shard-plan.ts', DYNAMODB_CDC_HANDLER, ...KINESIS_HANDLERS, ...REMOTE_FUNCTIONS].sort(),
    );
  });

  test('examples/storage/shard-plan.ts prints the plan', () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      load('examples/storage/shard-plan.ts');
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0][0])).toMatch(/shard/i);
    } finally {
      log.mockRestore();
    }
  });

  describe.each(KINESIS_HANDLERS)('%s', (file) => {
    const sent: string[] = [];
    beforeAll(() => {
      process.env.DEAD_LETTER_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/dead-letters';
      process.env.AWS_REGION ??= 'eu-west-1';
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
      jest.spyOn(SQSClient.prototype, 'send').mockImplementation(async (command: unknown) => {
        for (const e of (command as SendMessageBatchCommand).input.Entries ?? []) sent.push(e.MessageBody ?? '');
        return { Successful: [], Failed: [] };
      });
    });
    afterAll(() => jest.restoreAllMocks());

    test('processes a good record and dead-letters a record without orderId and one that is not JSON', async () => {
      const { handler } = load(file) as unknown as {
        handler: (e: KinesisStreamEvent) => Promise<{ batchItemFailures: unknown[] }>;
      };
      const response = await handler(
        kinesisEvent([
          kinesisRecord('{"orderId":"o-1"}', { sequenceNumber: '1' }),
          kinesisRecord('{"customerId":"c-1"}', { sequenceNumber: '2' }),
          kinesisRecord('not json', { sequenceNumber: '3' }),
        ]),
      );
      expect(response.batchItemFailures).toEqual([]);
      expect(sent.map((body) => JSON.parse(body).reason)).toEqual(['SCHEMA', 'MALFORMED_JSON']);
    });
  });

  test(`${DYNAMODB_CDC_HANDLER} applies a change and dead-letters a record that is not one`, async () => {
    const sent: string[] = [];
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.DEAD_LETTER_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/dead-letters';
    process.env.AWS_REGION ??= 'eu-west-1';
    const send = jest.spyOn(SQSClient.prototype, 'send').mockImplementation(async (command: unknown) => {
      for (const e of (command as SendMessageBatchCommand).input.Entries ?? []) sent.push(e.MessageBody ?? '');
      return { Successful: [], Failed: [] };
    });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { handler } = load(DYNAMODB_CDC_HANDLER) as unknown as {
        handler: (e: KinesisStreamEvent) => Promise<{ batchItemFailures: unknown[] }>;
      };
      const insert = {
        awsRegion: 'eu-west-1',
        eventID: 'e-1',
        eventName: 'INSERT',
        recordFormat: 'application/json',
        tableName: 'Orders',
        eventSource: 'aws:dynamodb',
        dynamodb: {
          Keys: { orderId: { S: 'o-1' } },
          NewImage: { orderId: { S: 'o-1' }, total: { N: '5' } },
          SizeBytes: 20,
        },
      };
      const response = await handler(
        kinesisEvent([
          kinesisRecord(JSON.stringify(insert), { sequenceNumber: '1' }),
          kinesisRecord('{"orderId":"o-2"}', { sequenceNumber: '2' }),
        ]),
      );
      expect(response.batchItemFailures).toEqual([]);
      expect(log).toHaveBeenCalledWith('INSERT', 'o-1', 5);
      expect(sent.map((body) => JSON.parse(body).reason)).toEqual(['MALFORMED_DYNAMODB_RECORD']);
    } finally {
      send.mockRestore();
      log.mockRestore();
    }
  });

  test.each([
    [REMOTE_FUNCTIONS[0], 'order', 'PlaceOrder', { customerId: 'c-1' }, 'order-events'],
    [REMOTE_FUNCTIONS[1], 'shipping', 'ShipmentRequested', { orderId: 'o-1' }, 'shipping-events'],
  ])(
    '%s answers the runtime: state, egress, and a rejected repeat',
    async (file, type, messageType, payload, egress) => {
      const { handler } = load(file) as unknown as {
        handler: (e: object) => Promise<{ statusCode: number; body: string }>;
      };
      const invoke = async (state: unknown, stateVersion: number) => {
        const body = JSON.stringify({
          address: { type, id: 'a-1' },
          state,
          stateVersion,
          messages: [{ id: 'm-1', type: messageType, from: null, payload }],
        });
        const result = await handler({ httpMethod: 'POST', body, isBase64Encoded: false });
        expect(result.statusCode).toBe(200);
        return JSON.parse(result.body);
      };
      const first = await invoke(null, 0);
      expect(first.state).not.toBeNull();
      expect(first.egress).toEqual([expect.objectContaining({ egress, partitionKey: 'a-1' })]);
      expect(first.rejected ?? []).toEqual([]);
      const repeat = await invoke(first.state, 1);
      expect(repeat.rejected).toEqual([expect.objectContaining({ messageId: 'm-1' })]);
    },
  );
});
