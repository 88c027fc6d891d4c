import { Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../internal/nag';
import { grantPutRecords } from '../internal/stream-grants';
import { requireResolved, validateDuration } from '../internal/validation';

/** A Firehose archive the replay CLI may read (`--source archive --archive-bucket --archive-prefix`). */
export interface ReplayArchive {
  /** The archive bucket (e.g. `S3ArchiveDestination.bucket`); its KMS key is granted `kms:Decrypt`. */
  readonly bucket: s3.IBucket;
  /** Key prefix of the archived objects, ending with `/` (e.g. `S3ArchiveDestination.prefix`). */
  readonly prefix: string;
}

export interface ReplayRoleProps {
  /** Who may assume the role to run `npm run replay`. @default - principals of this account allowed by their own IAM policy (AccountRootPrincipal) */
  readonly assumedBy?: iam.IPrincipal;
  /** Streams the CLI may read (`--source stream`). @default - none */
  readonly sourceStreams?: kinesis.IStream[];
  /** Archives the CLI may read (`--source archive`). @default - none */
  readonly archives?: ReplayArchive[];
  /** Streams the CLI may write to (`--target`). @default - none */
  readonly targetStreams?: kinesis.IStream[];
  /** Long replays outlive the default one-hour session; 1 to 12 hours. @default Duration.hours(4) */
  readonly maxSessionDuration?: Duration;
}

/** What the replay CLI (`bin/replay`) calls, per role of a resource. */
export const REPLAY_STREAM_READ_ACTIONS = ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'];
export const REPLAY_STREAM_WRITE_ACTIONS = ['kinesis:PutRecords'];

/**
 * The role an operator assumes to run the replay CLI (`npm run replay`), with exactly what it calls: on source streams
 * `kinesis:ListShards`, `GetShardIterator` and `GetRecords` (plus `kms:Decrypt`), on archives `s3:ListBucket` limited
 * to the prefix and `s3:GetObject` under it (plus `kms:Decrypt`), on targets `kinesis:PutRecords` (plus
 * `kms:GenerateDataKey`). More can be added with the `allow*` methods.
 */
export class ReplayRole extends Construct {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ReplayRoleProps = {}) {
    super(scope, id);
    const session = props.maxSessionDuration ?? Duration.hours(4);
    // aws-cdk-lib's Role compares it at synth time, so it cannot be a deploy-time value.
    requireResolved('maxSessionDuration', session, 'the IAM role checks it at synth time');
    validateDuration('maxSessionDuration', session, Duration.hours(1), Duration.hours(12));
    this.role = new iam.Role(this, 'Resource', {
      assumedBy: props.assumedBy ?? new iam.AccountRootPrincipal(),
      maxSessionDuration: session,
      description: `Runs the replay CLI (npm run replay) for ${this.node.path}`,
    });
    for (const stream of props.sourceStreams ?? []) this.allowReadStream(stream);
    for (const archive of props.archives ?? []) this.allowReadArchive(archive.bucket, archive.prefix);
    for (const stream of props.targetStreams ?? []) this.allowWriteStream(stream);
  }

  /** Lets the replay read `stream` (`--source stream --source-stream <name|arn>`). */
  public allowReadStream(stream: kinesis.IStream): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: REPLAY_STREAM_READ_ACTIONS, resources: [stream.streamArn] }),
    );
    if (stream.encryptionKey) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [stream.encryptionKey.keyArn] }),
      );
    }
  }

  /** Lets the replay write to `stream` (`--target <name|arn>`). */
  public allowWriteStream(stream: kinesis.IStream): void {
    grantPutRecords(this.role, stream, REPLAY_STREAM_WRITE_ACTIONS);
  }

  /** Lets the replay list and read the objects under `prefix` of `bucket` (`--source archive`). */
  public allowReadArchive(bucket: s3.IBucket, prefix: string): void {
    if (!Token.isUnresolved(prefix) && (prefix === '' || !prefix.endsWith('/') || prefix.startsWith('/'))) {
      throw new Error(`archive prefix must be a non-empty key prefix ending with '/', got '${prefix}'`);
    }
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    const objects = bucket.arnForObjects(`${prefix}*`);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }));
    if (bucket.encryptionKey) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [bucket.encryptionKey.keyArn] }),
      );
    }
    acknowledgeWildcardResource(
      this.role,
      `${bucket.bucketArn}/${prefix}*`,
      `Firehose names archive objects by delivery time; the replay reads any of them under '${prefix}' only.`,
    );
  }

  /** The ARN operators pass as `role_arn` in their AWS profile (or to `aws sts assume-role`). */
  public get roleArn(): string {
    return this.role.roleArn;
  }
}
