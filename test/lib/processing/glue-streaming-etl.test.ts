import * as fs from 'fs';
import * as path from 'path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { applyNagChecks } from '../../../bin/nag';
import { GlueStartingPosition, GlueStreamingEtl, GlueStreamingEtlProps } from '../../../lib/processing';
import { StreamStore } from '../../../lib/storage';

process.env.JSII_DEPRECATED = 'quiet';

const SCRIPTS = path.join(__dirname, '..', '..', '..', 'glue', 'streaming_etl');

interface Fixture {
  app: App;
  stack: Stack;
  source: StreamStore;
}

function fixture(): Fixture {
  const app = new App();
  const stack = new Stack(app, 'TestStack');
  return { app, stack, source: new StreamStore(stack, 'Raw', { createAlarms: false }) };
}

function etl(f: Fixture, props: Partial<GlueStreamingEtlProps> = {}): GlueStreamingEtl {
  return new GlueStreamingEtl(f.stack, 'Etl', { stream: f.source.stream, ...props });
}

function template(props: Partial<GlueStreamingEtlProps> = {}): Template {
  const f = fixture();
  etl(f, props);
  return Template.fromStack(f.stack);
}

function jobArguments(t: Template): Record<string, unknown> {
  const jobs = t.findResources('AWS::Glue::Job');
  const [job] = Object.values(jobs);
  return job.Properties.DefaultArguments as Record<string, unknown>;
}

function policyStatements(t: Template): Record<string, unknown>[] {
  const policies = Object.values(t.findResources('AWS::IAM::Policy'));
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
}

function s3Url(bucketLogicalId: string, prefix: string): unknown {
  return { 'Fn::Join': ['', ['s3://', { Ref: bucketLogicalId }, `/${prefix}`]] };
}

describe('GlueStreamingEtl defaults', () => {
  test('a Glue 5.0 streaming job (gluestreaming, Python 3) with 2 G.1X workers', () => {
    template().hasResourceProperties('AWS::Glue::Job', {
      Command: { Name: 'gluestreaming', PythonVersion: '3' },
      GlueVersion: '5.0',
      WorkerType: 'G.1X',
      NumberOfWorkers: 2,
    });
  });

  test('the job runs with the security configuration', () => {
    const t = template();
    const [id] = Object.keys(t.findResources('AWS::Glue::SecurityConfiguration'));
    t.hasResourceProperties('AWS::Glue::Job', { SecurityConfiguration: { Ref: id } });
  });

  test('job bookmarks, metrics, observability metrics and continuous logging are on', () => {
    expect(jobArguments(template())).toMatchObject({
      '--job-bookmark-option': 'job-bookmark-enable',
      '--enable-metrics': '',
      '--enable-observability-metrics': 'true',
      '--enable-continuous-cloudwatch-log': 'true',
    });
  });

  test('checkpoints and the temporary directory are in the work bucket, under their own prefixes', () => {
    const t = template();
    const work = Object.keys(t.findResources('AWS::S3::Bucket')).find((k) => k.startsWith('EtlWorkBucket'))!;
    expect(jobArguments(t)).toMatchObject({
      '--checkpoint_location': s3Url(work, 'checkpoints/'),
      '--TempDir': s3Url(work, 'temporary/'),
    });
  });

  test('good records go to telemetry/ and dead letters to dead-letters/ of a new output bucket', () => {
    const t = template();
    const out = Object.keys(t.findResources('AWS::S3::Bucket')).find((k) => k.startsWith('EtlOutputBucket'))!;
    expect(jobArguments(t)).toMatchObject({
      '--output_path': s3Url(out, 'telemetry/'),
      '--dead_letter_path': s3Url(out, 'dead-letters/'),
    });
  });

  test('the script reads the catalog table, in 100-second micro-batches, from the trim horizon', () => {
    const t = template();
    const [db] = Object.keys(t.findResources('AWS::Glue::Database'));
    expect(jobArguments(t)).toMatchObject({
      '--source_database': { Ref: db },
      '--source_table': 'telemetry_stream',
      '--window_size': '100 seconds',
      '--starting_position': 'trim_horizon',
    });
  });

  test('no event-time window unless asked for', () => {
    const args = jobArguments(template());
    expect(args['--max_future_skew_ms']).toBeUndefined();
    expect(args['--max_past_age_ms']).toBeUndefined();
  });

  test('job.py is the script and transform.py ships as an extra Python file, both as assets', () => {
    const f = fixture();
    etl(f);
    const assembly = f.app.synth();
    const t = Template.fromStack(f.stack);
    const job = Object.values(t.findResources('AWS::Glue::Job'))[0].Properties;
    const assetOf = (url: unknown) => {
      const parts = (url as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      return path.join(assembly.directory, `asset.${String(parts[parts.length - 1]).slice(1)}`);
    };
    const staged = (url: unknown) => {
      const p = assetOf(url);
      return fs.statSync(p).isDirectory() ? fs.readFileSync(path.join(p, fs.readdirSync(p)[0])) : fs.readFileSync(p);
    };
    expect(staged(job.Command.ScriptLocation)).toEqual(fs.readFileSync(path.join(SCRIPTS, 'job.py')));
    expect(staged(job.DefaultArguments['--extra-py-files'])).toEqual(
      fs.readFileSync(path.join(SCRIPTS, 'transform.py')),
    );
  });

  test('the catalog table describes the Kinesis stream as JSON with the telemetry columns', () => {
    template().hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        Name: 'telemetry_stream',
        TableType: 'EXTERNAL_TABLE',
        Parameters: {
          classification: 'json',
          typeOfData: 'kinesis',
          streamARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Raw'), 'Arn'] },
        },
        StorageDescriptor: {
          Columns: [
            { Name: 'eventid', Type: 'string' },
            { Name: 'deviceid', Type: 'string' },
            { Name: 'ts', Type: 'bigint' },
            { Name: 'metrics', Type: 'map<string,double>' },
            { Name: 'attributes', Type: 'map<string,string>' },
          ],
          SerdeInfo: {
            SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            Parameters: { 'case.insensitive': 'true', 'mapping.ts': 'timestamp' },
          },
        },
      },
    });
  });

  test('the table columns are the ones the transform rebuilds records from', () => {
    const t = template();
    const table = Object.values(t.findResources('AWS::Glue::Table'))[0].Properties;
    const columns = (table.TableInput.StorageDescriptor.Columns as { Name: string; Type: string }[])
      .map((c) => `${c.Name} ${c.Type}`)
      .join(', ');
    const tests = fs.readFileSync(path.join(SCRIPTS, 'test_transform.py'), 'utf8');
    expect(tests).toContain(`CATALOG_SCHEMA = "${columns}"`);
    const names = table.TableInput.StorageDescriptor.Columns.map((c: { Name: string }) => `("${c.Name}", `);
    const transform = fs.readFileSync(path.join(SCRIPTS, 'transform.py'), 'utf8');
    for (const name of names) expect(transform).toContain(name);
  });

  test('S3 writes, CloudWatch logs and job bookmarks are encrypted with one rotating customer-managed key', () => {
    const t = template();
    const keys = t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('Glue') } });
    const [key] = Object.keys(keys);
    expect(keys[key].Properties.EnableKeyRotation).toBe(true);
    const arn = { 'Fn::GetAtt': [key, 'Arn'] };
    t.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: {
        S3Encryptions: [{ S3EncryptionMode: 'SSE-KMS', KmsKeyArn: arn }],
        CloudWatchEncryption: { CloudWatchEncryptionMode: 'SSE-KMS', KmsKeyArn: arn },
        JobBookmarksEncryption: { JobBookmarksEncryptionMode: 'CSE-KMS', KmsKeyArn: arn },
      },
    });
  });

  test('the key lets CloudWatch Logs use it, which the encrypted job log groups require', () => {
    template().hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('Glue'),
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          }),
        ]),
      },
    });
  });

  test('work and output buckets are KMS-encrypted with the key and TLS-only', () => {
    const t = template();
    t.resourceCountIs('AWS::S3::Bucket', 2);
    const [key] = Object.keys(
      t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('Glue') } }),
    );
    t.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } },
          },
        ],
      },
    });
    t.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('temporary files expire after 7 days', () => {
    template().hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [{ Id: 'ExpireTemporary', Prefix: 'temporary/', ExpirationInDays: 7, Status: 'Enabled' }],
      },
    });
  });

  test('the role trusts Glue and has no managed policies', () => {
    const t = template();
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'glue.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('the role reads the catalog database and table only', () => {
    const statements = policyStatements(template());
    const catalog = statements.find((s) => JSON.stringify(s.Action).includes('glue:'))!;
    expect(catalog.Action).toEqual(['glue:GetDatabase', 'glue:GetTable']);
    const resources = JSON.stringify(catalog.Resource);
    expect(resources).toContain(':catalog');
    expect(resources).toContain(':database/');
    expect(resources).toContain('/telemetry_stream');
  });

  test('the role reads the stream and decrypts with its key', () => {
    const statements = policyStatements(template());
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: [
            'kinesis:DescribeStream',
            'kinesis:DescribeStreamSummary',
            'kinesis:ListShards',
            'kinesis:GetShardIterator',
            'kinesis:GetRecords',
          ],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Raw/), 'Arn'] },
        }),
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RawKey/), 'Arn'] },
        }),
      ]),
    );
  });

  test('the role reads and writes objects under each prefix it uses, and lists only those prefixes', () => {
    const statements = policyStatements(template());
    const objects = statements.filter((s) => JSON.stringify(s.Action).includes('s3:PutObject'));
    expect(objects.map((s) => JSON.stringify(s.Resource).match(/"\/([a-z-]+\/)\*"/)?.[1]).sort()).toEqual([
      'checkpoints/',
      'dead-letters/',
      'telemetry/',
      'temporary/',
    ]);
    for (const s of objects) {
      expect(s.Action).toEqual(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']);
    }
    const lists = statements.filter((s) => s.Action === 's3:ListBucket');
    expect(
      lists.map((s) => (s.Condition as { StringLike: { 's3:prefix': string[] } }).StringLike['s3:prefix']),
    ).toEqual([['checkpoints/*'], ['temporary/*'], ['telemetry/*'], ['dead-letters/*']]);
  });

  test('the role writes logs under /aws-glue/ and metrics to the Glue namespace only', () => {
    const statements = policyStatements(template());
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
          Resource: { 'Fn::Join': ['', expect.arrayContaining([':log-group:/aws-glue/*'])] },
        }),
        expect.objectContaining({
          Action: 'cloudwatch:PutMetricData',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': 'Glue' } },
        }),
      ]),
    );
  });

  test('the role encrypts and decrypts with the job key', () => {
    const t = template();
    const [key] = Object.keys(
      t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('Glue') } }),
    );
    expect(policyStatements(t)).toContainEqual(
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [key, 'Arn'] },
      }),
    );
  });

  test('exposes what it creates', () => {
    const f = fixture();
    const e = etl(f);
    expect(e.job).toBeInstanceOf(glue.PySparkStreamingJob);
    expect(e.role).toBeInstanceOf(iam.Role);
    expect(e.database).toBeInstanceOf(glue.Database);
    expect(e.table).toBeInstanceOf(glue.CfnTable);
    expect(e.securityConfiguration).toBeInstanceOf(glue.SecurityConfiguration);
    expect(e.deadLetterBucket).toBe(e.outputBucket);
    expect(f.stack.resolve(e.outputPath)).toEqual(
      s3Url(f.stack.getLogicalId(e.outputBucket.node.defaultChild as s3.CfnBucket), 'telemetry/'),
    );
  });

  test('metricNumRecords and metricBatchProcessingTime name the job', () => {
    const f = fixture();
    const e = etl(f);
    const records = e.metricNumRecords();
    expect(records.metricName).toBe('glue.driver.streaming.numRecords');
    expect(records.namespace).toBe('Glue');
    expect(records.statistic).toBe('Sum');
    expect(f.stack.resolve(records.dimensions)).toMatchObject({
      JobName: f.stack.resolve(e.job.jobName),
      Type: 'count',
    });
    const time = e.metricBatchProcessingTime();
    expect(time.metricName).toBe('glue.driver.streaming.batchProcessingTimeInMs');
    expect(time.statistic).toBe('Maximum');
  });
});

describe('GlueStreamingEtl options', () => {
  test('outputBucket: Parquet goes there, no output bucket is created, its key is granted', () => {
    const f = fixture();
    const key = new kms.Key(f.stack, 'DataKey');
    const bucket = new s3.Bucket(f.stack, 'Lake', { encryptionKey: key });
    etl(f, { outputBucket: bucket, outputPrefix: 'curated/telemetry/' });
    const t = Template.fromStack(f.stack);
    expect(Object.keys(t.findResources('AWS::S3::Bucket')).some((k) => k.startsWith('EtlOutputBucket'))).toBe(false);
    const lake = f.stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    expect(jobArguments(t)).toMatchObject({
      '--output_path': s3Url(lake, 'curated/telemetry/'),
      '--dead_letter_path': s3Url(lake, 'dead-letters/'),
    });
    expect(policyStatements(t)).toContainEqual(
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [f.stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] },
      }),
    );
  });

  test('deadLetterBucket and deadLetterPrefix: dead letters go there', () => {
    const f = fixture();
    const bucket = new s3.Bucket(f.stack, 'Errors');
    etl(f, { deadLetterBucket: bucket, deadLetterPrefix: 'glue/rejected/' });
    const t = Template.fromStack(f.stack);
    const id = f.stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    expect(jobArguments(t)['--dead_letter_path']).toEqual(s3Url(id, 'glue/rejected/'));
    expect(JSON.stringify(policyStatements(t))).toContain('/glue/rejected/*');
  });

  test('encryptionKey: used for the security configuration and the buckets, no key created', () => {
    const f = fixture();
    const key = new kms.Key(f.stack, 'Mine');
    etl(f, { encryptionKey: key });
    const t = Template.fromStack(f.stack);
    const arn = { 'Fn::GetAtt': [f.stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };
    expect(Object.keys(t.findResources('AWS::KMS::Key')).some((k) => k.startsWith('EtlKey'))).toBe(false);
    t.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: { CloudWatchEncryption: { KmsKeyArn: arn }, S3Encryptions: [{ KmsKeyArn: arn }] },
    });
    t.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { KMSMasterKeyID: arn } }],
      },
    });
  });

  test('serverAccessLogsBucket: the buckets this construct creates log to it', () => {
    const f = fixture();
    const logs = new s3.Bucket(f.stack, 'AccessLogs');
    etl(f, { serverAccessLogsBucket: logs });
    const t = Template.fromStack(f.stack);
    const id = f.stack.getLogicalId(logs.node.defaultChild as s3.CfnBucket);
    t.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: id }, LogFilePrefix: 'glue-work/' },
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: id }, LogFilePrefix: 'glue-output/' },
    });
  });

  test('jobName, databaseName and tableName', () => {
    const t = template({ jobName: 'telemetry-etl', databaseName: 'streams', tableName: 'raw_telemetry' });
    t.hasResourceProperties('AWS::Glue::Job', { Name: 'telemetry-etl' });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'streams' } });
    t.hasResourceProperties('AWS::Glue::Table', { TableInput: { Name: 'raw_telemetry' } });
    expect(jobArguments(t)['--source_table']).toBe('raw_telemetry');
  });

  test('glueVersion 5.1', () => {
    template({ glueVersion: glue.GlueVersion.V5_1 }).hasResourceProperties('AWS::Glue::Job', { GlueVersion: '5.1' });
  });

  test.each([glue.WorkerType.G_025X, glue.WorkerType.G_2X])('workerType %s', (workerType) => {
    template({ workerType }).hasResourceProperties('AWS::Glue::Job', { WorkerType: workerType });
  });

  test('numberOfWorkers', () => {
    template({ numberOfWorkers: 8 }).hasResourceProperties('AWS::Glue::Job', { NumberOfWorkers: 8 });
  });

  test('a deploy-time numberOfWorkers is passed through unchecked', () => {
    const f = fixture();
    const workers = new CfnParameter(f.stack, 'Workers', { type: 'Number' });
    etl(f, { numberOfWorkers: workers.valueAsNumber });
    Template.fromStack(f.stack).hasResourceProperties('AWS::Glue::Job', { NumberOfWorkers: { Ref: 'Workers' } });
  });

  test('windowSize and startingPosition', () => {
    const args = jobArguments(
      template({ windowSize: Duration.minutes(2), startingPosition: GlueStartingPosition.LATEST }),
    );
    expect(args['--window_size']).toBe('120 seconds');
    expect(args['--starting_position']).toBe('latest');
  });

  test('a deploy-time windowSize in seconds reaches the script with its unit once', () => {
    const f = fixture();
    const seconds = new CfnParameter(f.stack, 'Window', { type: 'Number' });
    etl(f, { windowSize: Duration.seconds(seconds.valueAsNumber) });
    expect(jobArguments(Template.fromStack(f.stack))['--window_size']).toEqual({
      'Fn::Join': ['', [{ Ref: 'Window' }, ' seconds']],
    });
  });

  test('a deploy-time windowSize in another unit is refused: it cannot be converted to seconds', () => {
    const f = fixture();
    const minutes = new CfnParameter(f.stack, 'Window', { type: 'Number' });
    expect(() => etl(f, { windowSize: Duration.minutes(minutes.valueAsNumber) })).toThrow(
      /Duration must be specified as 'Duration.seconds\(\)' here/,
    );
  });

  test('maxFutureSkew and maxPastAge become the event-time window of the script', () => {
    const args = jobArguments(template({ maxFutureSkew: Duration.minutes(5), maxPastAge: Duration.days(1) }));
    expect(args['--max_future_skew_ms']).toBe('300000');
    expect(args['--max_past_age_ms']).toBe('86400000');
  });

  test('enableMetrics and enableObservabilityMetrics can be switched off', () => {
    const args = jobArguments(template({ enableMetrics: false, enableObservabilityMetrics: false }));
    expect(args['--enable-metrics']).toBeUndefined();
    expect(args['--enable-observability-metrics']).toBeUndefined();
  });
});

describe('GlueStreamingEtl validation', () => {
  const cases: [string, Partial<GlueStreamingEtlProps>, RegExp][] = [
    ['Glue 4.0', { glueVersion: glue.GlueVersion.V4_0 }, /glueVersion must be one of 5.0, 5.1 .*got 4.0/],
    ['Glue 6.0', { glueVersion: glue.GlueVersion.V6_0 }, /glueVersion must be one of 5.0, 5.1 .*got 6.0/],
    ['G.4X workers', { workerType: glue.WorkerType.G_4X }, /workerType must be one of G.025X, G.1X, G.2X .*got G.4X/],
    ['1 worker', { numberOfWorkers: 1 }, /numberOfWorkers must be an integer between 2 and 1000, got 1/],
    ['1001 workers', { numberOfWorkers: 1001 }, /numberOfWorkers must be an integer between 2 and 1000, got 1001/],
    ['2.5 workers', { numberOfWorkers: 2.5 }, /numberOfWorkers must be an integer between 2 and 1000, got 2.5/],
    ['a 0-second window', { windowSize: Duration.seconds(0) }, /windowSize must be between 1 second and 1 hour/],
    [
      'a 2-hour window',
      { windowSize: Duration.hours(2) },
      /windowSize must be between 1 second and 1 hour, got 2 hours/,
    ],
    ['maxFutureSkew alone', { maxFutureSkew: Duration.minutes(5) }, /go together .*got only maxFutureSkew/],
    ['maxPastAge alone', { maxPastAge: Duration.days(1) }, /go together .*got only maxPastAge/],
    ['a job name with a space', { jobName: 'my job' }, /jobName must be 1-255 characters .*got 'my job'/],
    ['an upper-case database name', { databaseName: 'Streams' }, /databaseName must be .*got 'Streams'/],
    ['a table name with a dash', { tableName: 'raw-telemetry' }, /tableName must be .*got 'raw-telemetry'/],
    ['an output prefix without a slash', { outputPrefix: 'telemetry' }, /outputPrefix must be .*got 'telemetry'/],
    [
      'a dead-letter prefix with a leading slash',
      { deadLetterPrefix: '/dl/' },
      /deadLetterPrefix must be .*got '\/dl\/'/,
    ],
    [
      'overlapping prefixes in one bucket',
      { outputPrefix: 'data/', deadLetterPrefix: 'data/errors/' },
      /must not overlap in one bucket, got 'data\/' and 'data\/errors\/'/,
    ],
  ];
  test.each(cases)('refuses %s', (_, props, message) => {
    expect(() => etl(fixture(), props)).toThrow(message);
  });

  test('overlapping prefixes are fine in two buckets', () => {
    const f = fixture();
    const errors = new s3.Bucket(f.stack, 'Errors');
    expect(() => etl(f, { outputPrefix: 'data/', deadLetterPrefix: 'data/', deadLetterBucket: errors })).not.toThrow();
  });
});

describe('GlueStreamingEtl cdk-nag', () => {
  test('the default job passes AwsSolutions checks', () => {
    const f = fixture();
    applyNagChecks(f.app);
    etl(f);
    expect(() => f.app.synth()).not.toThrow();
  });

  test('a job with its own buckets, key and access logs passes AwsSolutions checks', () => {
    const f = fixture();
    applyNagChecks(f.app);
    const key = new kms.Key(f.stack, 'DataKey', { enableKeyRotation: true });
    const logs = new s3.Bucket(f.stack, 'AccessLogs', { enforceSSL: true, serverAccessLogsPrefix: 'self/' });
    const lake = new s3.Bucket(f.stack, 'Lake', { encryptionKey: key, enforceSSL: true, serverAccessLogsBucket: logs });
    etl(f, {
      outputBucket: lake,
      serverAccessLogsBucket: logs,
      maxFutureSkew: Duration.minutes(5),
      maxPastAge: Duration.days(1),
    });
    expect(() => f.app.synth()).not.toThrow();
  });

  test('an unacknowledged wildcard still fails synth (the check is live)', () => {
    const f = fixture();
    applyNagChecks(f.app);
    const e = etl(f);
    e.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::other/*'] }));
    expect(() => f.app.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});
