#!/usr/bin/env node
import { createCliApp } from './cli-app';
import { applyNagChecks } from './nag';
import { TimeSeriesAnalyticsStack, timeSeriesAnalyticsPropsFromContext } from '../lib/stacks';
import { EventSourcedMicroservicesStack, eventSourcedMicroservicesPropsFromContext } from '../lib/stacks';

// aws-cdk-lib's built-in template validation is off unless `-c cdk-streaming-patterns:builtinValidation=true`.
const app = createCliApp();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

// Settings come from the `timeseries:*` context keys in cdk.json (or `-c timeseries:<key>=<value>`).
new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', { env, ...timeSeriesAnalyticsPropsFromContext(app) });
// Settings come from the `eventsourced:*` context keys in cdk.json (or `-c eventsourced:<key>=<value>`).
new EventSourcedMicroservicesStack(app, 'EventSourcedMicroservices', {
  env,
  ...eventSourcedMicroservicesPropsFromContext(app),
});

// The gate that matters on every synth: unacknowledged cdk-nag findings fail it.
applyNagChecks(app);
app.synth();
