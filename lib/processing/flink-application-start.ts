import { CustomResource, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { handlerEntry } from '../internal';
import { createObservedFunction } from '../internal/observed-function';

/** Options shared by every `FlinkApplicationStart`. */
export interface FlinkApplicationStartOptions {
  /**
   * Start even when the snapshot holds state for an operator the new jar no longer has (Flink's
   * `allowNonRestoredState`); that state is dropped.
   * @default false
   */
  readonly allowNonRestoredState?: boolean;
}

/**
 * How `FlinkStreamProcessorProps.startOnDeploy` starts the application after a deploy that created or changed it, if it
 * is not running. A running application is never restarted by it: CloudFormation's own update restarts a running
 * application from a snapshot.
 */
export class FlinkApplicationStart {
  /**
   * From the latest snapshot (`RESTORE_FROM_LATEST_SNAPSHOT`): the state the application had when it last stopped.
   * A new application has no snapshot and starts empty (`SKIP_RESTORE_FROM_SNAPSHOT`).
   */
  public static fromLatestSnapshot(options: FlinkApplicationStartOptions = {}): FlinkApplicationStart {
    return new FlinkApplicationStart('RESTORE_FROM_LATEST_SNAPSHOT', undefined, options);
  }

  /** From the named snapshot (`RESTORE_FROM_CUSTOM_SNAPSHOT`), e.g. one taken before a risky release. */
  public static fromSnapshot(snapshotName: string, options: FlinkApplicationStartOptions = {}): FlinkApplicationStart {
    if (!Token.isUnresolved(snapshotName) && !/^[a-zA-Z0-9_.-]{1,256}$/.test(snapshotName)) {
      throw new Error(
        `FlinkApplicationStart.fromSnapshot needs a snapshot name of 1-256 [a-zA-Z0-9_.-], got '${snapshotName}'`,
      );
    }
    return new FlinkApplicationStart('RESTORE_FROM_CUSTOM_SNAPSHOT', snapshotName, options);
  }

  /** With no state (`SKIP_RESTORE_FROM_SNAPSHOT`): sources start at their initial position. */
  public static withoutSnapshot(options: FlinkApplicationStartOptions = {}): FlinkApplicationStart {
    return new FlinkApplicationStart('SKIP_RESTORE_FROM_SNAPSHOT', undefined, options);
  }

  /** Whether state of operators the jar no longer has may be dropped. */
  public readonly allowNonRestoredState: boolean;

  private constructor(
    /** `RESTORE_FROM_LATEST_SNAPSHOT`, `RESTORE_FROM_CUSTOM_SNAPSHOT` or `SKIP_RESTORE_FROM_SNAPSHOT`. */
    public readonly restoreType: string,
    /** The snapshot, for `RESTORE_FROM_CUSTOM_SNAPSHOT`. */
    public readonly snapshotName: string | undefined,
    options: FlinkApplicationStartOptions,
  ) {
    this.allowNonRestoredState = options.allowNonRestoredState ?? false;
  }
}

/** What the application starter needs to know about the application. */
export interface FlinkApplicationStarterProps {
  readonly applicationName: string;
  readonly applicationArn: string;
  readonly start: FlinkApplicationStart;
  /** The key encrypting the application, whose use StartApplication needs. @default - an AWS-owned key */
  readonly applicationEncryptionKey?: kms.IKey;
  /**
   * A value that changes whenever the application's code or configuration does, so the resource runs again after
   * every deploy that changed the application.
   */
  readonly revision: string;
}

/**
 * A custom resource that starts a Managed Flink application after CloudFormation created or changed it, and waits
 * until it runs (a failed start fails the deploy with the reason). Deleting it leaves the application as it is.
 */
export class FlinkApplicationStarter extends Construct {
  public readonly function: lambda.IFunction;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: FlinkApplicationStarterProps) {
    super(scope, id);
    const { function: fn, role } = createObservedFunction(
      this,
      { logGroup: 'LogGroup', role: 'ServiceRole', function: 'Function' },
      {
        entry: handlerEntry('flink-application-starter'),
        description: `Starts the Managed Flink application of ${scope.node.path} on deploy`,
        roleDescription: `Starts the Managed Flink application of ${scope.node.path}`,
        serviceName: 'flink-application-starter',
        memorySize: 256,
        // Starting takes minutes; the handler answers CloudFormation 30 s before this.
        timeout: Duration.minutes(15),
        // A deploy-time custom resource: traces add nothing and would widen its role.
        tracing: false,
      },
    );
    this.function = fn;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'kinesisanalytics:DescribeApplication',
          'kinesisanalytics:ListApplicationSnapshots',
          'kinesisanalytics:StartApplication',
        ],
        resources: [props.applicationArn],
      }),
    );
    if (props.applicationEncryptionKey) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant'],
          resources: [props.applicationEncryptionKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `kinesisanalytics.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` },
          },
        }),
      );
    }
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::FlinkApplicationStart',
      properties: {
        ApplicationName: props.applicationName,
        RestoreType: props.start.restoreType,
        SnapshotName: props.start.snapshotName,
        AllowNonRestoredState: String(props.start.allowNonRestoredState),
        Revision: Lazy.string({ produce: () => props.revision }),
      },
    });
  }
}
