import * as fs from 'fs';
import * as path from 'path';

/**
 * Reads what `cdk synth` wrote to a cloud assembly (`cdk.out`): the stacks, their resources, and the assets of their
 * Lambda functions and Flink applications. `npm run local` creates its streams, tables, buckets, queues and buses from
 * this, not from a second hand-kept list, so a local run exercises what would be deployed.
 */

/** The account, region and partition every local resource lives in (the local servers accept any). */
export const LOCAL_ENV = { account: '000000000000', region: 'us-east-1', partition: 'aws' } as const;

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface Template {
  readonly Resources: Record<string, TemplateResource>;
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
}

export interface AssemblyStack {
  /** The stack name (the artifact id in the manifest). */
  readonly name: string;
  readonly template: Template;
  /** Absolute path of the assembly directory. */
  readonly directory: string;
  /** Asset file or folder in the assembly, by the S3 object key the template names (`<hash>.zip`, `<hash>.jar`). */
  readonly assetsByObjectKey: ReadonlyMap<string, string>;
}

interface ManifestArtifact {
  readonly type: string;
  readonly properties?: { templateFile?: string; file?: string };
}

interface AssetManifest {
  readonly files?: Record<
    string,
    {
      source: { path: string; packaging?: string };
      destinations: Record<string, { objectKey: string }>;
    }
  >;
}

/** Every stack of the assembly in `directory`, nested assemblies excluded. */
export function readAssembly(directory: string): AssemblyStack[] {
  const dir = path.resolve(directory);
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) {
    throw new Error(`${manifestPath} not found: synthesize first (npm run synth)`);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const artifacts = manifest.artifacts ?? {};
  const assets = new Map<string, string>();
  for (const artifact of Object.values(artifacts)) {
    if (artifact.type !== 'cdk:asset-manifest' || !artifact.properties?.file) continue;
    const assetManifest = JSON.parse(
      fs.readFileSync(path.join(dir, artifact.properties.file), 'utf8'),
    ) as AssetManifest;
    for (const file of Object.values(assetManifest.files ?? {})) {
      for (const destination of Object.values(file.destinations)) {
        assets.set(destination.objectKey, path.join(dir, file.source.path));
      }
    }
  }
  return Object.entries(artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile)
    .map(([name, a]) => ({
      name,
      directory: dir,
      template: JSON.parse(fs.readFileSync(path.join(dir, a.properties!.templateFile!), 'utf8')) as Template,
      assetsByObjectKey: assets,
    }));
}

/** The resources of `type`, by logical id. */
export function resourcesOfType(stack: AssemblyStack, type: string): Array<[string, TemplateResource]> {
  return Object.entries(stack.template.Resources).filter(([, r]) => r.Type === type);
}

/**
 * The local file or folder of an asset a resource points at with `{ "Fn::Sub": "cdk-...-assets-..." }` and an object
 * key (`Code.S3Key` of a function, `S3ContentLocation.FileKey` of a Flink application).
 */
export function assetPath(stack: AssemblyStack, objectKey: unknown): string {
  if (typeof objectKey !== 'string') {
    throw new Error(`asset object key must be a literal string in ${stack.name}, got ${JSON.stringify(objectKey)}`);
  }
  const found = stack.assetsByObjectKey.get(objectKey);
  if (!found) throw new Error(`no asset with object key ${objectKey} in the assembly of ${stack.name}`);
  return found;
}

/**
 * Local physical names for a stack's resources. Names the template sets (`Name`, `TableName`, ...) are kept; the
 * others, which CloudFormation would generate, become `<prefix><stack>-<logicalId>` (lower case for buckets). The
 * prefix (e.g. a run id) gives each run fresh streams: kinesis-local slows down as a stream fills.
 */
export class LocalNames {
  private readonly names = new Map<string, string>();

  constructor(
    public readonly stack: AssemblyStack,
    private readonly prefix = '',
  ) {}

  /** The physical name of a resource (what `Ref` returns for most types). */
  public nameOf(logicalId: string): string {
    const known = this.names.get(logicalId);
    if (known) return known;
    const resource = this.stack.template.Resources[logicalId];
    if (!resource) throw new Error(`${this.stack.name} has no resource ${logicalId}`);
    const explicit = explicitName(resource);
    let name = explicit ?? `${this.prefix}${this.stack.name}-${logicalId}`;
    if (resource.Type === 'AWS::S3::Bucket')
      name = name
        .toLowerCase()
        .replace(/[^a-z0-9.-]/g, '-')
        .slice(0, 63);
    if (resource.Type === 'AWS::Kinesis::Stream' || resource.Type === 'AWS::DynamoDB::Table') name = name.slice(0, 128);
    if (resource.Type === 'AWS::SQS::Queue') name = name.slice(0, 80);
    this.names.set(logicalId, name);
    return name;
  }
}

function explicitName(resource: TemplateResource): string | undefined {
  const p = resource.Properties ?? {};
  const candidates: Record<string, string> = {
    'AWS::Kinesis::Stream': 'Name',
    'AWS::DynamoDB::Table': 'TableName',
    'AWS::S3::Bucket': 'BucketName',
    'AWS::SQS::Queue': 'QueueName',
    'AWS::Events::EventBus': 'Name',
    'AWS::SNS::Topic': 'TopicName',
    'AWS::Lambda::Function': 'FunctionName',
    'AWS::KinesisAnalyticsV2::Application': 'ApplicationName',
  };
  const nested: Record<string, [string, string]> = {
    'AWS::Glue::Table': ['TableInput', 'Name'],
    'AWS::Glue::Database': ['DatabaseInput', 'Name'],
  };
  const key =
    candidates[resource.Type] ??
    (resource.Type === 'AWS::KinesisFirehose::DeliveryStream' ? 'DeliveryStreamName' : undefined);
  const path = nested[resource.Type];
  const value = key ? p[key] : path ? (p[path[0]] as Record<string, unknown> | undefined)?.[path[1]] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Where the local servers answer; the resolver turns queue references into URLs of the SQS server. */
export interface LocalEndpoints {
  readonly sqs?: string;
}

/**
 * Resolves CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`,
 * `Fn::If` with no conditions) in a template value to what they would be for the local resources. A reference it
 * cannot resolve throws naming it, so a new kind of wiring fails loudly instead of running against a wrong name.
 */
export class LocalResolver {
  constructor(
    private readonly names: LocalNames,
    private readonly endpoints: LocalEndpoints = {},
    private readonly overrides: Record<string, unknown> = {},
  ) {}

  public resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = o[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
          return this.getAtt(id, attribute);
        }
        case 'Fn::Join': {
          const [delimiter, items] = arg as [string, unknown[]];
          return (this.resolve(items) as unknown[]).map(String).join(delimiter);
        }
        case 'Fn::Sub':
          return this.sub(arg as string | [string, Record<string, unknown>]);
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [delimiter, source] = arg as [string, unknown];
          return String(this.resolve(source)).split(delimiter);
        }
        default:
          if (fn.startsWith('Fn::')) throw new Error(`${this.names.stack.name}: cannot resolve ${fn} locally`);
      }
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** The resolved value as a string; throws naming `what` if it is not one. */
  public string(value: unknown, what: string): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number') {
      throw new Error(`${what} resolves to ${JSON.stringify(resolved)}, not a string`);
    }
    return String(resolved);
  }

  public ref(id: string): unknown {
    if (id in this.overrides) return this.overrides[id];
    switch (id) {
      case 'AWS::AccountId':
        return LOCAL_ENV.account;
      case 'AWS::Region':
        return LOCAL_ENV.region;
      case 'AWS::Partition':
        return LOCAL_ENV.partition;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.names.stack.name;
      case 'AWS::NoValue':
        return undefined;
    }
    const parameter = this.names.stack.template.Parameters?.[id];
    if (parameter) {
      if (parameter.Default === undefined) throw new Error(`${this.names.stack.name}: parameter ${id} has no default`);
      return parameter.Default;
    }
    const resource = this.names.stack.template.Resources[id];
    if (!resource) throw new Error(`${this.names.stack.name}: Ref to unknown ${id}`);
    const name = this.names.nameOf(id);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return this.queueUrl(name);
      case 'AWS::SNS::Topic':
      case 'AWS::SecretsManager::Secret':
        return this.arn(resource.Type, name);
      case 'AWS::ApiGateway::Stage':
        // A stage's Ref is its name, which the template sets.
        return this.resolve(resource.Properties?.StageName) ?? name;
      default:
        return name;
    }
  }

  public getAtt(id: string, attribute: string): unknown {
    const key = `${id}.${attribute}`;
    if (key in this.overrides) return this.overrides[key];
    const resource = this.names.stack.template.Resources[id];
    if (!resource) throw new Error(`${this.names.stack.name}: Fn::GetAtt of unknown ${id}`);
    const name = this.names.nameOf(id);
    switch (attribute) {
      case 'Arn':
      case 'TopicArn':
        return this.arn(resource.Type, name);
      case 'StreamArn':
        return `${this.arn(resource.Type, name)}/stream/local`;
      case 'QueueUrl':
        return this.queueUrl(name);
      case 'QueueName':
      case 'Name':
      case 'TopicName':
        return name;
      case 'DomainName':
      case 'RegionalDomainName':
        return `${name}.s3.${LOCAL_ENV.region}.amazonaws.com`;
    }
    throw new Error(
      `${this.names.stack.name}: cannot resolve Fn::GetAtt ${id}.${attribute} (${resource.Type}) locally`,
    );
  }

  /** The ARN a resource of `type` named `name` would have in the local account. */
  public arn(type: string, name: string): string {
    const { account, region, partition } = LOCAL_ENV;
    const prefix = (service: string) => `arn:${partition}:${service}:${region}:${account}`;
    switch (type) {
      case 'AWS::Kinesis::Stream':
        return `${prefix('kinesis')}:stream/${name}`;
      case 'AWS::DynamoDB::Table':
        return `${prefix('dynamodb')}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:${partition}:s3:::${name}`;
      case 'AWS::SQS::Queue':
        return `${prefix('sqs')}:${name}`;
      case 'AWS::SNS::Topic':
        return `${prefix('sns')}:${name}`;
      case 'AWS::Events::EventBus':
        return `${prefix('events')}:event-bus/${name}`;
      case 'AWS::Lambda::Function':
        return `${prefix('lambda')}:function:${name}`;
      case 'AWS::IAM::Role':
        return `arn:${partition}:iam::${account}:role/${name}`;
      case 'AWS::KMS::Key':
        return `${prefix('kms')}:key/${name}`;
      case 'AWS::Logs::LogGroup':
        return `${prefix('logs')}:log-group:${name}:*`;
      case 'AWS::SecretsManager::Secret':
        return `${prefix('secretsmanager')}:secret:${name}`;
      case 'AWS::KinesisFirehose::DeliveryStream':
        return `${prefix('firehose')}:deliverystream/${name}`;
      default: {
        const service = type.split('::')[1]?.toLowerCase() ?? 'unknown';
        return `${prefix(service)}:${name}`;
      }
    }
  }

  private queueUrl(name: string): string {
    const base = this.endpoints.sqs ?? `https://sqs.${LOCAL_ENV.region}.amazonaws.com`;
    return `${base}/${LOCAL_ENV.account}/${name}`;
  }

  private sub(arg: string | [string, Record<string, unknown>]): string {
    const [text, variables] = typeof arg === 'string' ? [arg, {}] : arg;
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
      if (name in variables) return String(this.resolve(variables[name]));
      const [id, attribute] = name.split('.');
      return String(attribute ? this.getAtt(id, attribute) : this.ref(id));
    });
  }
}

/** The name of the stream behind an ARN such as `arn:aws:kinesis:<region>:<account>:stream/<name>[/consumer/...]`. */
export function streamNameFromArn(arn: string): string {
  const match = /:stream\/([^/]+)/.exec(arn);
  if (!match) throw new Error(`not a Kinesis stream or consumer ARN: ${arn}`);
  return match[1];
}
