import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import Ajv from 'ajv';
import * as fc from 'fast-check';
import {
  KinesisAgentFlow,
  KinesisAgentIngestion,
  KinesisAgentIngestionProps,
  KinesisAgentInitialPosition,
  KinesisAgentLogFormat,
  KinesisAgentPartitionKey,
  KinesisAgentProcessor,
} from '../../../lib/ingestion';
import { propertyParameters } from '../../support/property';
import { stackWithStream, synthWithNag } from './helpers';

const schema = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'kinesis-agent-config.schema.json'), 'utf8'),
);
const validateConfig = new Ajv({ allErrors: true }).compile(schema);

const ENV = { account: '123456789012', region: 'eu-west-1' };
const ENDPOINTS = {
  kinesisEndpoint: 'https://kinesis.eu-west-1.amazonaws.com',
  cloudWatchEndpoint: 'https://monitoring.eu-west-1.amazonaws.com',
};

/** An agent construct whose config has no tokens (an imported stream, literal endpoints), resolved. */
function literal(props: Partial<KinesisAgentIngestionProps> = {}) {
  const stack = new Stack(new App(), 'Hosts', { env: ENV });
  const stream = kinesis.Stream.fromStreamArn(stack, 'Logs', 'arn:aws:kinesis:eu-west-1:123456789012:stream/app-logs');
  const agent = new KinesisAgentIngestion(stack, 'Agent', {
    stream,
    flows: [{ filePattern: '/var/log/app/*.log' }],
    ...ENDPOINTS,
    ...props,
  });
  return { stack, agent, config: stack.resolve(agent.config) as Record<string, unknown> };
}

function build(props: Partial<KinesisAgentIngestionProps> = {}) {
  const { stack, store } = stackWithStream();
  const agent = new KinesisAgentIngestion(stack, 'Agent', {
    stream: store.stream,
    flows: [{ filePattern: '/var/log/app/*.log' }],
    ...props,
  });
  return { stack, store, agent };
}

describe('KinesisAgentIngestion configuration', () => {
  test('defaults: metrics on, regional endpoints, one RANDOM flow from the end of the file into the stream', () => {
    const { stack, agent } = build();
    expect(stack.resolve(agent.config)).toEqual({
      'cloudwatch.emitMetrics': true,
      'cloudwatch.endpoint': { 'Fn::Join': ['', ['https://monitoring.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] },
      'kinesis.endpoint': { 'Fn::Join': ['', ['https://kinesis.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] },
      flows: [
        {
          filePattern: '/var/log/app/*.log',
          kinesisStream: { Ref: expect.stringMatching(/^Store/) },
          partitionKeyOption: 'RANDOM',
          initialPosition: 'END_OF_FILE',
        },
      ],
    });
  });

  test('every flow setting is rendered with the agent key names', () => {
    const { config } = literal({
      emitMetrics: false,
      flows: [
        {
          filePattern: '/var/log/httpd/access_log*',
          partitionKeyOption: KinesisAgentPartitionKey.DETERMINISTIC,
          initialPosition: KinesisAgentInitialPosition.START_OF_FILE,
          multiLineStartPattern: '^\\[',
          skipHeaderLines: 1,
          truncatedRecordTerminator: '...\n',
          maxBufferAge: Duration.seconds(30),
          maxBufferSizeRecords: 100,
          maxBufferSizeBytes: 1048576,
          dataProcessingOptions: [
            KinesisAgentProcessor.singleLine(),
            KinesisAgentProcessor.logToJson({
              logFormat: KinesisAgentLogFormat.COMBINED_APACHE_LOG,
              matchPattern: '^(\\S+) (.*)$',
              customFieldNames: ['host', 'rest'],
            }),
            KinesisAgentProcessor.addEc2Metadata({
              logFormat: KinesisAgentLogFormat.RFC3339_SYSLOG,
              metadataTtl: Duration.minutes(10),
            }),
          ],
        },
        {
          filePattern: '/data/export.csv',
          dataProcessingOptions: [
            KinesisAgentProcessor.csvToJson(['id', 'amount'], ';'),
            KinesisAgentProcessor.addMetadata({ source: 'erp' }, true),
          ],
        },
      ],
    });
    expect(config).toEqual({
      'cloudwatch.emitMetrics': false,
      'cloudwatch.endpoint': 'https://monitoring.eu-west-1.amazonaws.com',
      'kinesis.endpoint': 'https://kinesis.eu-west-1.amazonaws.com',
      flows: [
        {
          filePattern: '/var/log/httpd/access_log*',
          kinesisStream: 'app-logs',
          partitionKeyOption: 'DETERMINISTIC',
          initialPosition: 'START_OF_FILE',
          multiLineStartPattern: '^\\[',
          skipHeaderLines: 1,
          truncatedRecordTerminator: '...\n',
          maxBufferAgeMillis: 30000,
          maxBufferSizeRecords: 100,
          maxBufferSizeBytes: 1048576,
          dataProcessingOptions: [
            { optionName: 'SINGLELINE' },
            {
              optionName: 'LOGTOJSON',
              logFormat: 'COMBINEDAPACHELOG',
              matchPattern: '^(\\S+) (.*)$',
              customFieldNames: ['host', 'rest'],
            },
            { optionName: 'ADDEC2METADATA', logFormat: 'RFC3339SYSLOG', metadataTTL: 600 },
          ],
        },
        {
          filePattern: '/data/export.csv',
          kinesisStream: 'app-logs',
          partitionKeyOption: 'RANDOM',
          initialPosition: 'END_OF_FILE',
          dataProcessingOptions: [
            { optionName: 'CSVTOJSON', customFieldNames: ['id', 'amount'], delimiter: ';' },
            // The agent casts `timestamp` to a String: a JSON boolean would fail at its start.
            { optionName: 'ADDMETADATA', metadata: { source: 'erp' }, timestamp: 'true' },
          ],
        },
      ],
    });
    expect(validateConfig(config)).toBe(true);
  });

  test('processors leave out the settings not given (the agent then uses its defaults)', () => {
    expect(KinesisAgentProcessor.csvToJson(['a']).render()).toEqual({
      optionName: 'CSVTOJSON',
      customFieldNames: ['a'],
    });
    expect(KinesisAgentProcessor.logToJson({ logFormat: KinesisAgentLogFormat.SYSLOG }).render()).toEqual({
      optionName: 'LOGTOJSON',
      logFormat: 'SYSLOG',
    });
    expect(KinesisAgentProcessor.addMetadata({ k: 'v' }).render()).toEqual({
      optionName: 'ADDMETADATA',
      metadata: { k: 'v' },
    });
    expect(
      KinesisAgentProcessor.addEc2Metadata({ logFormat: KinesisAgentLogFormat.APACHE_ERROR_LOG }).render(),
    ).toEqual({ optionName: 'ADDEC2METADATA', logFormat: 'APACHEERRORLOG' });
  });
});

describe('KinesisAgentIngestion config schema', () => {
  const processor = fc.oneof(
    fc.constant(KinesisAgentProcessor.singleLine()),
    fc
      .tuple(
        fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
      )
      .map(([names, delimiter]) => KinesisAgentProcessor.csvToJson(names, delimiter)),
    fc
      .record(
        {
          logFormat: fc.constantFrom(...Object.values(KinesisAgentLogFormat)),
          matchPattern: fc.constantFrom('^(\\S+)$', '(.*)'),
          customFieldNames: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }),
        },
        { requiredKeys: ['logFormat'] },
      )
      .map((o) => KinesisAgentProcessor.logToJson(o)),
    fc
      .tuple(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), fc.option(fc.boolean(), { nil: undefined }))
      .map(([m, ts]) => KinesisAgentProcessor.addMetadata(m, ts)),
    fc
      .record(
        {
          logFormat: fc.constantFrom(...Object.values(KinesisAgentLogFormat)),
          metadataTtl: fc.integer({ min: 1, max: 604800 }).map((s) => Duration.seconds(s)),
        },
        { requiredKeys: ['logFormat'] },
      )
      .map((o) => KinesisAgentProcessor.addEc2Metadata(o)),
  );
  const segment = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
  const flow: fc.Arbitrary<KinesisAgentFlow> = fc.record(
    {
      filePattern: fc
        .tuple(fc.array(segment, { maxLength: 3 }), fc.stringMatching(/^[A-Za-z0-9_.*-]{1,16}$/))
        .map(([dirs, file]) => `/${[...dirs, file].join('/')}`),
      partitionKeyOption: fc.constantFrom(...Object.values(KinesisAgentPartitionKey)),
      initialPosition: fc.constantFrom(...Object.values(KinesisAgentInitialPosition)),
      dataProcessingOptions: fc.array(processor, { maxLength: 4 }),
      multiLineStartPattern: fc.constantFrom('^\\[', '^\\d{4}-', '^[A-Z]'),
      skipHeaderLines: fc.nat({ max: 100 }),
      truncatedRecordTerminator: fc.string({ minLength: 1, maxLength: 4 }),
      maxBufferAge: fc.integer({ min: 1000, max: 900000 }).map((ms) => Duration.millis(ms)),
      maxBufferSizeRecords: fc.integer({ min: 1, max: 500 }),
      maxBufferSizeBytes: fc.integer({ min: 1, max: 5 * 1024 * 1024 }),
    },
    { requiredKeys: ['filePattern'] },
  );

  test('every config generated from valid props satisfies the schema', () => {
    fc.assert(
      fc.property(
        fc.array(flow, { minLength: 1, maxLength: 4 }),
        fc.option(fc.boolean(), { nil: undefined }),
        (flows, emitMetrics) => {
          const { config } = literal({ flows, emitMetrics });
          const ok = validateConfig(config);
          if (!ok) throw new Error(JSON.stringify(validateConfig.errors) + '\n' + JSON.stringify(config));
        },
      ),
      propertyParameters(150),
    );
  });

  test('the schema rejects what the agent would reject', () => {
    const { config } = literal();
    const flow = (config.flows as Array<Record<string, unknown>>)[0];
    const variants: Array<Record<string, unknown>> = [
      { ...config, flows: [] },
      { ...config, flows: [{ ...flow, maxBufferAgeMillis: 999 }] },
      { ...config, flows: [{ ...flow, maxBufferSizeRecords: 501 }] },
      { ...config, flows: [{ ...flow, partitionKeyOption: 'HASH' }] },
      { ...config, flows: [{ ...flow, filePattern: '/var/*/app.log' }] },
      {
        ...config,
        flows: [{ ...flow, dataProcessingOptions: [{ optionName: 'LOGTOJSON', logFormat: 'RFC3164SYSLOG' }] }],
      },
      {
        ...config,
        flows: [{ ...flow, dataProcessingOptions: [{ optionName: 'ADDMETADATA', metadata: {}, timestamp: true }] }],
      },
      { ...config, flows: [{ ...flow, deliveryStream: 'firehose' }] },
    ];
    for (const v of variants) expect(validateConfig(v)).toBe(false);
  });
});

describe('KinesisAgentIngestion delivery', () => {
  test('an SSM Command document installs the agent, writes the config verbatim and restarts the service', () => {
    const { stack, agent, config } = literal();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SSM::Document', {
      DocumentType: 'Command',
      DocumentFormat: 'JSON',
      UpdateMethod: 'NewVersion',
      Content: {
        schemaVersion: '2.2',
        description: Match.stringLikeRegexp('app-logs'),
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: 'ConfigureKinesisAgent',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { runCommand: Match.anyValue(), timeoutSeconds: 600 },
          },
        ],
      },
    });
    const doc = Object.values(t.findResources('AWS::SSM::Document'))[0];
    const commands: string[] = doc.Properties.Content.mainSteps[0].inputs.runCommand;
    expect(commands).toEqual([
      'set -euo pipefail',
      'rpm -q aws-kinesis-agent >/dev/null 2>&1 || yum install -y aws-kinesis-agent',
      'mkdir -p /etc/aws-kinesis',
      expect.stringMatching(
        /^cat > \/etc\/aws-kinesis\/agent.json <<'KINESIS_AGENT_CONFIG'\n.*\nKINESIS_AGENT_CONFIG$/,
      ),
      'chkconfig aws-kinesis-agent on',
      'service aws-kinesis-agent restart',
    ]);
    expect(JSON.parse(commands[3].split('\n')[1])).toEqual(config);
    expect(stack.resolve(agent.documentName)).toEqual({ Ref: expect.stringMatching(/^Agent/) });
  });

  test('run by bash, the heredoc writes the config byte for byte, with no shell expansion', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kinesis-agent-'));
    try {
      const { stack, agent, config } = literal({
        flows: [
          {
            filePattern: '/var/log/app/*.log',
            dataProcessingOptions: [KinesisAgentProcessor.addMetadata({ shell: '$HOME `id` $(id) \\ \' "q"' })],
          },
        ],
      });
      const target = path.join(dir, 'agent.json');
      const write = (stack.resolve(agent.commands[3]) as string).replace('/etc/aws-kinesis/agent.json', target);
      execFileSync('bash', ['-c', write]);
      expect(JSON.parse(fs.readFileSync(target, 'utf8'))).toEqual(config);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('document name and agent package are configurable', () => {
    const { stack } = literal({
      documentName: 'kinesis-agent-setup',
      agentPackage: 'https://example.com/aws-kinesis-agent-latest.amzn2.noarch.rpm',
    });
    const doc = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document'))[0];
    expect(doc.Properties.Name).toBe('kinesis-agent-setup');
    expect(doc.Properties.Content.mainSteps[0].inputs.runCommand[1]).toBe(
      'rpm -q aws-kinesis-agent >/dev/null 2>&1 || yum install -y https://example.com/aws-kinesis-agent-latest.amzn2.noarch.rpm',
    );
  });

  test('user data carries the same commands', () => {
    const { agent } = literal();
    expect(agent.userData().render()).toBe(['#!/bin/bash', ...agent.commands].join('\n'));
    const existing = ec2.UserData.forLinux();
    existing.addCommands('echo first');
    agent.addToUserData(existing);
    expect(existing.render().split('\n').slice(0, 3)).toEqual(['#!/bin/bash', 'echo first', 'set -euo pipefail']);
  });
});

describe('KinesisAgentIngestion grantTo', () => {
  function statementsFor(props: Partial<KinesisAgentIngestionProps> = {}) {
    const { stack, agent } = build(props);
    const role = new iam.Role(stack, 'Host', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    agent.grantTo(role);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
  }

  test('PutRecords on the stream, GenerateDataKey on its key, PutMetricData in the agent namespace only', () => {
    expect(statementsFor()).toEqual([
      {
        Action: 'kinesis:PutRecords',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'] },
      },
      {
        Action: 'kms:GenerateDataKey',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'] },
      },
      {
        Action: 'cloudwatch:PutMetricData',
        Effect: 'Allow',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'AWSKinesisAgent' } },
      },
    ]);
  });

  test('no PutMetricData without metrics; DescribeTags with ADDEC2METADATA', () => {
    const actions = statementsFor({
      emitMetrics: false,
      flows: [
        {
          filePattern: '/var/log/app.json',
          dataProcessingOptions: [KinesisAgentProcessor.addEc2Metadata({ logFormat: KinesisAgentLogFormat.SYSLOG })],
        },
      ],
    }).map((s) => s.Action);
    expect(actions).toEqual(['kinesis:PutRecords', 'kms:GenerateDataKey', 'ec2:DescribeTags']);
  });
});

describe('KinesisAgentIngestion validation', () => {
  const cases: Array<[string, Partial<KinesisAgentIngestionProps>, RegExp]> = [
    ['no flows', { flows: [] }, /flows must have at least one flow, got \[\]/],
    [
      'a relative path',
      { flows: [{ filePattern: 'logs/app.log' }] },
      /flows\[0\].filePattern must be an absolute .*got 'logs\/app.log'/,
    ],
    ['a wildcard directory', { flows: [{ filePattern: '/var/*/app.log' }] }, /got '\/var\/\*\/app.log'/],
    ['a directory', { flows: [{ filePattern: '/var/log/' }] }, /got '\/var\/log\/'/],
    [
      'a bad multi-line pattern',
      { flows: [{ filePattern: '/a.log', multiLineStartPattern: '([' }] },
      /multiLineStartPattern must be a regular expression, got '\(\['/,
    ],
    [
      'an empty terminator',
      { flows: [{ filePattern: '/a.log', truncatedRecordTerminator: '' }] },
      /truncatedRecordTerminator must not be empty/,
    ],
    [
      'negative header lines',
      { flows: [{ filePattern: '/a.log', skipHeaderLines: -1 }] },
      /skipHeaderLines must be an integer between 0 and .*got -1/,
    ],
    [
      'too many buffered records',
      { flows: [{ filePattern: '/a.log', maxBufferSizeRecords: 501 }] },
      /maxBufferSizeRecords must be an integer between 1 and 500, got 501/,
    ],
    [
      'too many buffered bytes',
      { flows: [{ filePattern: '/a.log', maxBufferSizeBytes: 5242881 }] },
      /maxBufferSizeBytes must be an integer between 1 and 5242880, got 5242881/,
    ],
    [
      'a buffer age under a second',
      { flows: [{ filePattern: '/a.log', maxBufferAge: Duration.millis(500) }] },
      /maxBufferAge must be between 1 second and 15 minutes, got 500 millis/,
    ],
    ['a bad document name', { documentName: 'a b' }, /documentName must be 3-128 characters of .*got 'a b'/],
  ];
  test.each(cases)('rejects %s with the received value', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test.each<[string, () => KinesisAgentProcessor, RegExp]>([
    [
      'csvToJson without fields',
      () => KinesisAgentProcessor.csvToJson([]),
      /csvToJson needs at least one field name, got \[\]/,
    ],
    [
      'csvToJson with an empty delimiter',
      () => KinesisAgentProcessor.csvToJson(['a'], ''),
      /delimiter must not be empty/,
    ],
    [
      'logToJson with a bad pattern',
      () => KinesisAgentProcessor.logToJson({ logFormat: KinesisAgentLogFormat.SYSLOG, matchPattern: '(' }),
      /logToJson matchPattern must be a regular expression, got '\('/,
    ],
    [
      'addEc2Metadata with a zero TTL',
      () =>
        KinesisAgentProcessor.addEc2Metadata({
          logFormat: KinesisAgentLogFormat.SYSLOG,
          metadataTtl: Duration.seconds(0),
        }),
      /metadataTtl must be between 1 second and 7 days, got 0 seconds/,
    ],
  ])('rejects %s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('KinesisAgentIngestion cdk-nag', () => {
  test('the document and a host role granted by it pass the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag((stack, store) => {
        const agent = new KinesisAgentIngestion(stack, 'Agent', {
          stream: store.stream,
          flows: [{ filePattern: '/var/log/app/*.log' }],
        });
        const role = new iam.Role(stack, 'Host', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
        agent.grantTo(role);
      }),
    ).not.toThrow();
  });
});
