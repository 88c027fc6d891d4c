#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { applyNagChecks } from './nag';
import { StreamingFoundationStack } from '../lib/stacks';
import { TimeSeriesAnalyticsStack, timeSeriesAnalyticsPropsFromContext } from '../lib/stacks';

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

new StreamingFoundationStack(app, 'StreamingFoundation', { env });
// Settings come from the `timeseries:*` context keys in cdk.json (or `-c timeseries:<key>=<value>`).
new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', { env, ...timeSeriesAnalyticsPropsFromContext(app) });

applyNagChecks(app);
app.synth();
