import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { FlinkCode, FlinkCodeConfig } from '../processing';

/**
 * Reads a Flink code context value: `s3://<bucket>/<key>` is a jar already in S3, anything else a local jar path.
 * One value names one source, so the CLI cannot give two.
 */
export function flinkCodeFromContext(contextKey: string, value: string | undefined): FlinkCode | undefined {
  if (value === undefined) return undefined;
  if (!value.startsWith('s3://')) return FlinkCode.fromJar(value);
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
  if (!match) throw new Error(`context ${contextKey} must be a jar path or s3://<bucket>/<key>, got '${value}'`);
  return new NamedBucketFlinkCode(match[1], match[2]);
}

/** The package's jar of a Flink application, the default of a stack's code prop; a failure names that prop. */
export function packagedFlinkCode(application: string, prop: string): FlinkCode {
  try {
    return FlinkCode.fromPackage(application);
  } catch (e) {
    throw new Error(`${(e as Error).message} as ${prop}`);
  }
}

/** A jar in a bucket known by name only: the bucket is imported into the stack when the application binds. */
class NamedBucketFlinkCode extends FlinkCode {
  constructor(
    private readonly bucketName: string,
    private readonly key: string,
  ) {
    super();
  }

  public bind(scope: Construct): FlinkCodeConfig {
    return FlinkCode.fromBucket(s3.Bucket.fromBucketName(scope, 'CodeBucket', this.bucketName), this.key).bind(scope);
  }
}

/** Context keys replaced by one code key, rejected so that an old cdk.json or command line does not go unnoticed. */
export function rejectReplacedContextKeys(scope: Construct, prefix: string, replaced: string[], by: string): void {
  for (const key of replaced) {
    if (scope.node.tryGetContext(`${prefix}:${key}`) !== undefined) {
      throw new Error(`context ${prefix}:${key} was replaced by ${prefix}:${by} (a jar path or s3://<bucket>/<key>)`);
    }
  }
}
