import {
  ApplicationRestoreType,
  ApplicationStatus,
  DescribeApplicationCommand,
  KinesisAnalyticsV2Client,
  ListApplicationSnapshotsCommand,
  StartApplicationCommand,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { type CustomResourceResponse, sendResponse } from '../shared/cloudformation-response';

export { type CustomResourceResponse, sendResponse };

// CloudFormation custom resource behind FlinkStreamProcessorProps.startOnDeploy: CloudFormation creates and updates a
// Managed Flink application but never starts it, so this starts it once the application is READY and waits until it
// is RUNNING. A RUNNING application is left alone: CloudFormation's update has already restarted it from a snapshot.

const logger = new Logger({ serviceName: 'flink-application-starter' });

/** What the construct passes as resource properties. */
export interface StartRequest {
  readonly applicationName: string;
  readonly restoreType: ApplicationRestoreType;
  readonly snapshotName?: string;
  readonly allowNonRestoredState: boolean;
}

/** Statuses that settle by themselves: wait them out. */
const TRANSITIONAL = new Set<string>([
  ApplicationStatus.STARTING,
  ApplicationStatus.UPDATING,
  ApplicationStatus.AUTOSCALING,
  ApplicationStatus.STOPPING,
  ApplicationStatus.FORCE_STOPPING,
  ApplicationStatus.ROLLING_BACK,
  ApplicationStatus.MAINTENANCE,
]);

export function parseRequest(properties: Record<string, unknown>): StartRequest {
  const applicationName = String(properties.ApplicationName ?? '');
  if (!applicationName) throw new Error('ApplicationName is missing');
  const restoreType = String(properties.RestoreType ?? '') as ApplicationRestoreType;
  if (!Object.values(ApplicationRestoreType).includes(restoreType)) {
    throw new Error(
      `RestoreType must be one of ${Object.values(ApplicationRestoreType).join(', ')}, got '${restoreType}'`,
    );
  }
  const snapshotName = properties.SnapshotName === undefined ? undefined : String(properties.SnapshotName);
  if ((restoreType === ApplicationRestoreType.RESTORE_FROM_CUSTOM_SNAPSHOT) !== (snapshotName !== undefined)) {
    throw new Error(
      `SnapshotName goes with RESTORE_FROM_CUSTOM_SNAPSHOT, got ${restoreType} and ${snapshotName ?? 'none'}`,
    );
  }
  // CloudFormation passes every property as a string.
  const allowNonRestoredState = String(properties.AllowNonRestoredState ?? 'false') === 'true';
  return { applicationName, restoreType, snapshotName, allowNonRestoredState };
}

export interface StarterDependencies {
  readonly flink: KinesisAnalyticsV2Client;
  /** Time between two DescribeApplication calls. */
  readonly pollIntervalMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What `ensureRunning` did. */
export interface StartOutcome {
  /** `STARTED` when this call started the application, `ALREADY_RUNNING` when it was running. */
  readonly action: 'STARTED' | 'ALREADY_RUNNING';
  /** The restore type used, when started. */
  readonly restoreType?: ApplicationRestoreType;
}

/**
 * Brings the application to RUNNING by `deadline` (epoch ms): waits out transitions, starts it when READY (from the
 * latest snapshot only if one exists, since a new application has none), and fails when it cannot.
 */
export async function ensureRunning(
  deps: StarterDependencies,
  request: StartRequest,
  deadline: number,
): Promise<StartOutcome> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  let started: ApplicationRestoreType | undefined;
  for (;;) {
    const status = await describeStatus(deps.flink, request.applicationName);
    if (status === ApplicationStatus.RUNNING) {
      return started ? { action: 'STARTED', restoreType: started } : { action: 'ALREADY_RUNNING' };
    }
    if (status === ApplicationStatus.READY) {
      if (started) {
        // Back to READY after a start: the job failed to come up (bad jar, unrestorable state).
        throw new Error(
          `${request.applicationName} went back to READY after StartApplication (${started}): see its log group for why the job did not start`,
        );
      }
      started = await restoreTypeFor(deps.flink, request);
      await deps.flink.send(
        new StartApplicationCommand({
          ApplicationName: request.applicationName,
          RunConfiguration: {
            ApplicationRestoreConfiguration: {
              ApplicationRestoreType: started,
              SnapshotName:
                started === ApplicationRestoreType.RESTORE_FROM_CUSTOM_SNAPSHOT ? request.snapshotName : undefined,
            },
            FlinkRunConfiguration: { AllowNonRestoredState: request.allowNonRestoredState },
          },
        }),
      );
      logger.info('Started the application', { applicationName: request.applicationName, restoreType: started });
      // Describe again at once: the status to wait on (and to report) is the one after the start.
      continue;
    } else if (!TRANSITIONAL.has(status)) {
      throw new Error(`${request.applicationName} is ${status}, which StartApplication cannot start from`);
    }
    if (Date.now() + deps.pollIntervalMs > deadline) {
      throw new Error(`${request.applicationName} is still ${status}: it did not reach RUNNING before the deadline`);
    }
    await sleep(deps.pollIntervalMs);
  }
}

async function describeStatus(flink: KinesisAnalyticsV2Client, applicationName: string): Promise<string> {
  const out = await flink.send(new DescribeApplicationCommand({ ApplicationName: applicationName }));
  const status = out.ApplicationDetail?.ApplicationStatus;
  if (!status) throw new Error(`DescribeApplication of ${applicationName} returned no status`);
  return status;
}

async function restoreTypeFor(flink: KinesisAnalyticsV2Client, request: StartRequest): Promise<ApplicationRestoreType> {
  if (request.restoreType !== ApplicationRestoreType.RESTORE_FROM_LATEST_SNAPSHOT) return request.restoreType;
  const snapshots = await flink.send(
    new ListApplicationSnapshotsCommand({ ApplicationName: request.applicationName, Limit: 1 }),
  );
  return (snapshots.SnapshotSummaries?.length ?? 0) > 0
    ? ApplicationRestoreType.RESTORE_FROM_LATEST_SNAPSHOT
    : ApplicationRestoreType.SKIP_RESTORE_FROM_SNAPSHOT;
}

/** Builds the Lambda handler; tests pass a client pointed at a local server. */
export function createHandler(deps: StarterDependencies) {
  return async (event: CloudFormationCustomResourceEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const applicationName = String(event.ResourceProperties.ApplicationName ?? '');
    const base = {
      PhysicalResourceId: event.RequestType === 'Create' ? `flink-start-${applicationName}` : event.PhysicalResourceId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    try {
      if (event.RequestType === 'Delete') {
        // Turning the switch off leaves the application as it is; deleting the application stops it.
        await sendResponse(event.ResponseURL, { ...base, Status: 'SUCCESS', Reason: 'Nothing to undo' });
        return;
      }
      const request = parseRequest(event.ResourceProperties);
      // Leave time to answer CloudFormation before Lambda's own timeout.
      const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 840_000) - 30_000;
      const outcome = await ensureRunning(deps, request, deadline);
      await sendResponse(event.ResponseURL, {
        ...base,
        Status: 'SUCCESS',
        Reason: outcome.action === 'STARTED' ? `Started (${outcome.restoreType})` : 'Already running',
        Data: { Action: outcome.action, RestoreType: outcome.restoreType ?? '' },
      });
    } catch (error) {
      logger.error('Starting the application failed', { error: String(error) });
      await sendResponse(event.ResponseURL, {
        ...base,
        Status: 'FAILED',
        Reason: String((error as Error).message ?? error).slice(0, 1000),
      });
    }
  };
}

export const handler = createHandler({ flink: new KinesisAnalyticsV2Client({}), pollIntervalMs: 15_000 });
