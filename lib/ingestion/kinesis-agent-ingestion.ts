import { Aws, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { grantPutRecords, PUT_RECORDS_ACTIONS } from '../internal/stream-grants';
import { validateDuration, validateInteger, validateName } from '../internal/validation';

/** Where the agent reads its configuration. */
export const KINESIS_AGENT_CONFIG_PATH = '/etc/aws-kinesis/agent.json';
/** The agent's default CloudWatch namespace (`cloudwatch.namespace`). */
export const KINESIS_AGENT_METRICS_NAMESPACE = 'AWSKinesisAgent';

/** `partitionKeyOption` of a flow. */
export enum KinesisAgentPartitionKey {
  /** A random key per record: even spread over shards, no order. */
  RANDOM = 'RANDOM',
  /** A hash of the record: equal records go to the same shard. */
  DETERMINISTIC = 'DETERMINISTIC',
}

/** `initialPosition` of a flow. */
export enum KinesisAgentInitialPosition {
  START_OF_FILE = 'START_OF_FILE',
  END_OF_FILE = 'END_OF_FILE',
}

/** `logFormat` of LOGTOJSON and ADDEC2METADATA (the agent's `LogFormat` enum). */
export enum KinesisAgentLogFormat {
  COMMON_APACHE_LOG = 'COMMONAPACHELOG',
  COMBINED_APACHE_LOG = 'COMBINEDAPACHELOG',
  APACHE_ERROR_LOG = 'APACHEERRORLOG',
  SYSLOG = 'SYSLOG',
  /** Syslog with RFC 3339 timestamps; the agent spells it RFC3339SYSLOG. */
  RFC3339_SYSLOG = 'RFC3339SYSLOG',
}

export interface KinesisAgentLogToJsonOptions {
  readonly logFormat: KinesisAgentLogFormat;
  /** A regular expression whose groups are the fields. @default - the format's own pattern */
  readonly matchPattern?: string;
  /** Field names for the groups. @default - the format's own names */
  readonly customFieldNames?: string[];
}

export interface KinesisAgentEc2MetadataOptions {
  /** The format the agent's parser is built for (the agent requires one, even though it reads JSON records). */
  readonly logFormat: KinesisAgentLogFormat;
  /** How long instance metadata and tags are cached. @default Duration.hours(1) */
  readonly metadataTtl?: Duration;
}

/** One entry of a flow's `dataProcessingOptions`, applied in order. */
export abstract class KinesisAgentProcessor {
  /** SINGLELINE: joins a multi-line record into one line, trimming each line. */
  public static singleLine(): KinesisAgentProcessor {
    return new RenderedProcessor('SINGLELINE', {});
  }

  /** CSVTOJSON: a delimited record to a JSON object with these field names. */
  public static csvToJson(customFieldNames: string[], delimiter?: string): KinesisAgentProcessor {
    if (customFieldNames.length === 0) throw new Error('csvToJson needs at least one field name, got []');
    if (delimiter !== undefined && delimiter.length === 0)
      throw new Error("csvToJson delimiter must not be empty, got ''");
    return new RenderedProcessor('CSVTOJSON', { customFieldNames: [...customFieldNames], delimiter });
  }

  /** LOGTOJSON: a log line of a known format to a JSON object. */
  public static logToJson(options: KinesisAgentLogToJsonOptions): KinesisAgentProcessor {
    if (options.matchPattern !== undefined) {
      try {
        new RegExp(options.matchPattern);
      } catch (e) {
        throw new Error(
          `logToJson matchPattern must be a regular expression, got '${options.matchPattern}': ${(e as Error).message}`,
        );
      }
    }
    return new RenderedProcessor('LOGTOJSON', {
      logFormat: options.logFormat,
      matchPattern: options.matchPattern,
      customFieldNames: options.customFieldNames ? [...options.customFieldNames] : undefined,
    });
  }

  /**
   * ADDMETADATA: wraps each record as `{"metadata": ..., "data": "<record>"}`, with `ts` (UTC, ms) when `timestamp`.
   */
  public static addMetadata(metadata: { [key: string]: string }, timestamp?: boolean): KinesisAgentProcessor {
    // The agent reads `timestamp` as a string ("true"/"false"): a JSON boolean fails its cast.
    return new RenderedProcessor('ADDMETADATA', {
      metadata: { ...metadata },
      timestamp: timestamp === undefined ? undefined : String(timestamp),
    });
  }

  /**
   * ADDEC2METADATA: adds instance id, type, AZ, region, account, AMI, private IP and the instance's tags to each JSON
   * record (records must already be JSON: put it after CSVTOJSON or LOGTOJSON for text files). Needs
   * `ec2:DescribeTags`, which `grantTo` adds.
   */
  public static addEc2Metadata(options: KinesisAgentEc2MetadataOptions): KinesisAgentProcessor {
    validateDuration('addEc2Metadata metadataTtl', options.metadataTtl, Duration.seconds(1), Duration.days(7));
    return new RenderedProcessor('ADDEC2METADATA', {
      logFormat: options.logFormat,
      metadataTTL: options.metadataTtl?.toSeconds(),
    });
  }

  /** The agent's option name. */
  public abstract readonly optionName: string;
  /** The JSON object of this option. */
  public abstract render(): { [key: string]: unknown };
}

class RenderedProcessor extends KinesisAgentProcessor {
  constructor(
    public readonly optionName: string,
    private readonly settings: Record<string, unknown>,
  ) {
    super();
  }

  public render(): { [key: string]: unknown } {
    const out: Record<string, unknown> = { optionName: this.optionName };
    for (const [k, v] of Object.entries(this.settings)) if (v !== undefined) out[k] = v;
    return out;
  }
}

/** One `flows` entry: files matching `filePattern`, tailed into the construct's stream. */
export interface KinesisAgentFlow {
  /** Absolute path, `*` wildcards in the file name only (e.g. `/var/log/app/*.log`). Readable by `aws-kinesis-agent-user`. */
  readonly filePattern: string;
  /** @default KinesisAgentPartitionKey.RANDOM */
  readonly partitionKeyOption?: KinesisAgentPartitionKey;
  /** @default - records are sent as read */
  readonly dataProcessingOptions?: KinesisAgentProcessor[];
  /** A regular expression matching the first line of a multi-line record. @default - one record per line */
  readonly multiLineStartPattern?: string;
  /** Lines skipped at the start of each file. @default 0 */
  readonly skipHeaderLines?: number;
  /** Appended to a record cut at the 1 MiB record limit. @default - a newline */
  readonly truncatedRecordTerminator?: string;
  /** 1 second to 15 minutes. @default Duration.minutes(1) */
  readonly maxBufferAge?: Duration;
  /** 1 to 500. @default 500 */
  readonly maxBufferSizeRecords?: number;
  /** 1 to 5 MiB. @default 5 MiB */
  readonly maxBufferSizeBytes?: number;
  /** @default KinesisAgentInitialPosition.END_OF_FILE */
  readonly initialPosition?: KinesisAgentInitialPosition;
}

export interface KinesisAgentIngestionProps {
  /** The stream every flow writes to. Hosts get `kinesis:PutRecords` on it and `kms:GenerateDataKey` on its key. */
  readonly stream: kinesis.IStream;
  /** At least one. */
  readonly flows: KinesisAgentFlow[];
  /** `cloudwatch.emitMetrics` (namespace AWSKinesisAgent). @default true */
  readonly emitMetrics?: boolean;
  /** `kinesis.endpoint`. @default - the regional endpoint of the stack's region */
  readonly kinesisEndpoint?: string;
  /** `cloudwatch.endpoint`. @default - the regional endpoint of the stack's region */
  readonly cloudWatchEndpoint?: string;
  /** The package `yum install` installs: a name from the Amazon Linux repositories or an RPM URL. @default 'aws-kinesis-agent' */
  readonly agentPackage?: string;
  /** @default - a name generated by CloudFormation */
  readonly documentName?: string;
}

/**
 * Files into Kinesis with the Kinesis Agent: the agent's `agent.json` generated from typed flows, an SSM Command
 * document that installs the agent (Amazon Linux), writes the configuration and restarts the service, the same as
 * EC2 user data, and `grantTo` for the hosts' roles.
 */
export class KinesisAgentIngestion extends Construct {
  /** The `agent.json` object (may hold tokens: the stream name, the region). */
  public readonly config: Record<string, unknown>;
  /** Shell commands that install the agent, write the configuration and (re)start it. */
  public readonly commands: string[];
  public readonly document: ssm.CfnDocument;
  /** Name of the SSM document (`aws ssm send-command --document-name <it> --targets ...`). */
  public readonly documentName: string;
  public readonly stream: kinesis.IStream;
  private readonly emitMetrics: boolean;
  private readonly needsDescribeTags: boolean;

  constructor(scope: Construct, id: string, props: KinesisAgentIngestionProps) {
    super(scope, id);
    validate(props);
    this.stream = props.stream;
    this.emitMetrics = props.emitMetrics ?? true;
    this.needsDescribeTags = props.flows.some((f) =>
      (f.dataProcessingOptions ?? []).some((p) => p.optionName === 'ADDEC2METADATA'),
    );
    const region = Stack.of(this).region;
    this.config = {
      'cloudwatch.emitMetrics': this.emitMetrics,
      'cloudwatch.endpoint': props.cloudWatchEndpoint ?? `https://monitoring.${region}.${Aws.URL_SUFFIX}`,
      'kinesis.endpoint': props.kinesisEndpoint ?? `https://kinesis.${region}.${Aws.URL_SUFFIX}`,
      flows: props.flows.map((f) => renderFlow(f, props.stream.streamName)),
    };
    const json = Stack.of(this).toJsonString(this.config);
    const pkg = props.agentPackage ?? 'aws-kinesis-agent';
    this.commands = [
      'set -euo pipefail',
      `rpm -q aws-kinesis-agent >/dev/null 2>&1 || yum install -y ${pkg}`,
      'mkdir -p /etc/aws-kinesis',
      // A quoted heredoc writes the one-line JSON as it is: no shell expansion of its content.
      `cat > ${KINESIS_AGENT_CONFIG_PATH} <<'KINESIS_AGENT_CONFIG'\n${json}\nKINESIS_AGENT_CONFIG`,
      'chkconfig aws-kinesis-agent on',
      'service aws-kinesis-agent restart',
    ];
    this.document = new ssm.CfnDocument(this, 'Resource', {
      name: props.documentName,
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: {
        schemaVersion: '2.2',
        description: `Installs the Kinesis Agent and configures it to send files to ${props.stream.streamName}`,
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: 'ConfigureKinesisAgent',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { runCommand: this.commands, timeoutSeconds: 600 },
          },
        ],
      },
    });
    this.documentName = this.document.ref;
  }

  /**
   * Lets a host's role run the agent: `kinesis:PutRecords` on the stream (the agent calls nothing else on it) and
   * `kms:GenerateDataKey` on its key; with metrics, `cloudwatch:PutMetricData` in the AWSKinesisAgent namespace;
   * with ADDEC2METADATA, `ec2:DescribeTags`.
   */
  public grantTo(grantee: iam.IGrantable): iam.Grant {
    let grant = grantPutRecords(grantee, this.stream, PUT_RECORDS_ACTIONS);
    if (this.emitMetrics) {
      grant = grant.combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['cloudwatch:PutMetricData'],
          resourceArns: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': KINESIS_AGENT_METRICS_NAMESPACE } },
        }),
      );
    }
    if (this.needsDescribeTags) {
      grant = grant.combine(iam.Grant.addToPrincipal({ grantee, actions: ['ec2:DescribeTags'], resourceArns: ['*'] }));
    }
    const principal = grantee.grantPrincipal;
    if ((this.emitMetrics || this.needsDescribeTags) && Construct.isConstruct(principal)) {
      Validations.of(principal).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData (conditioned on the AWSKinesisAgent namespace) and ec2:DescribeTags have no resource-level permissions.',
      });
    }
    return grant;
  }

  /** Adds the commands to existing user data (an instance or launch template's). */
  public addToUserData(userData: ec2.UserData): void {
    userData.addCommands(...this.commands);
  }

  /** New Linux user data that sets up the agent at first boot. */
  public userData(): ec2.UserData {
    const userData = ec2.UserData.forLinux();
    this.addToUserData(userData);
    return userData;
  }
}

function renderFlow(flow: KinesisAgentFlow, streamName: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    filePattern: flow.filePattern,
    kinesisStream: streamName,
    partitionKeyOption: flow.partitionKeyOption ?? KinesisAgentPartitionKey.RANDOM,
    initialPosition: flow.initialPosition ?? KinesisAgentInitialPosition.END_OF_FILE,
  };
  const optional: Record<string, unknown> = {
    multiLineStartPattern: flow.multiLineStartPattern,
    skipHeaderLines: flow.skipHeaderLines,
    truncatedRecordTerminator: flow.truncatedRecordTerminator,
    maxBufferAgeMillis: flow.maxBufferAge?.toMilliseconds(),
    maxBufferSizeRecords: flow.maxBufferSizeRecords,
    maxBufferSizeBytes: flow.maxBufferSizeBytes,
    dataProcessingOptions: flow.dataProcessingOptions?.length
      ? flow.dataProcessingOptions.map((p) => p.render())
      : undefined,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) out[k] = v;
  return out;
}

function validate(props: KinesisAgentIngestionProps): void {
  if (props.flows.length === 0) throw new Error('flows must have at least one flow, got []');
  validateName('documentName', props.documentName, /^[a-zA-Z0-9_.-]+$/, 3, 128, "letters, digits, '_', '-' and '.'");
  for (const [i, f] of props.flows.entries()) {
    const at = `flows[${i}]`;
    const p = f.filePattern;
    if (!Token.isUnresolved(p)) {
      const dir = p.slice(0, p.lastIndexOf('/'));
      if (!p.startsWith('/') || p.endsWith('/') || dir.includes('*')) {
        throw new Error(
          `${at}.filePattern must be an absolute file path with wildcards in the file name only, got '${p}'`,
        );
      }
    }
    if (f.multiLineStartPattern !== undefined) {
      try {
        new RegExp(f.multiLineStartPattern);
      } catch {
        throw new Error(`${at}.multiLineStartPattern must be a regular expression, got '${f.multiLineStartPattern}'`);
      }
    }
    if (f.truncatedRecordTerminator !== undefined && f.truncatedRecordTerminator.length === 0) {
      throw new Error(`${at}.truncatedRecordTerminator must not be empty, got ''`);
    }
    validateInteger(`${at}.skipHeaderLines`, f.skipHeaderLines, 0);
    validateInteger(`${at}.maxBufferSizeRecords`, f.maxBufferSizeRecords, 1, 500);
    validateInteger(`${at}.maxBufferSizeBytes`, f.maxBufferSizeBytes, 1, 5 * 1024 * 1024);
    validateDuration(`${at}.maxBufferAge`, f.maxBufferAge, Duration.seconds(1), Duration.minutes(15));
  }
}
