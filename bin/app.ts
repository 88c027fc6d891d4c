#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { applyNagChecks } from './nag';
import { TimeSeriesAnalyticsStack, timeSeriesAnalyticsPropsFromContext } from '../lib/stacks';
import { EventSourcedMicroservicesStack, eventSourcedMicroservicesPropsFromContext } from '../lib/stacks';

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

// Settings come from the `timeseries:*` context keys in cdk.json (or `-c timeseries:<key>=<value>`).
new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', { env, ...timeSeriesAnalyticsPropsFromContext(app) });
// Settings come from the `eventsourced:*` context keys in cdk.json (or `-c eventsourced:<key>=<value>`).
new EventSourcedMicroservicesStack(app, 'EventSourcedMicroservices', {
  env,
  ...eventSourcedMicroservicesPropsFromContext(app),
});

applyNagChecks(app);
app.synth();
