import { App } from 'aws-cdk-lib';
import {
  ChangeDataCaptureStack,
  EventSourcedMicroservicesStack,
  TimeSeriesAnalyticsStack,
  eventSourcedMicroservicesPropsFromContext,
  timeSeriesAnalyticsPropsFromContext,
} from '../lib/stacks';

/** The stacks of this repository's CDK app. */
export interface AppStacks {
  readonly timeSeries: TimeSeriesAnalyticsStack;
  readonly eventSourced: EventSourcedMicroservicesStack;
  readonly changeDataCapture: ChangeDataCaptureStack;
}

/**
 * Adds the app's stacks to `app` (bin/app.ts), configured from its context, so that tests build exactly what
 * `cdk synth` and `cdk deploy` do.
 */
export function addAppStacks(app: App): AppStacks {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  return {
    // Settings come from the `timeseries:*` context keys in cdk.json (or `-c timeseries:<key>=<value>`).
    timeSeries: new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', {
      env,
      ...timeSeriesAnalyticsPropsFromContext(app),
    }),
    // Settings come from the `eventsourced:*` context keys in cdk.json (or `-c eventsourced:<key>=<value>`).
    eventSourced: new EventSourcedMicroservicesStack(app, 'EventSourcedMicroservices', {
      env,
      ...eventSourcedMicroservicesPropsFromContext(app),
    }),
    // DynamoDB CDC -> Kinesis -> Redshift streaming ingestion and OpenSearch (no context keys).
    changeDataCapture: new ChangeDataCaptureStack(app, 'ChangeDataCapture', { env }),
  };
}
