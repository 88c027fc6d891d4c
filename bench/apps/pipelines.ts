/**
 * The app of the `synth-scale` bench row: `bench:pipelines` (context) copies of the time-series pipeline, each its own
 * `TimeSeriesAnalyticsStack` with the settings of cdk.json, the cdk-nag gate and bin/app.ts's App, as a user deploying one pipeline per
 * site or tenant from one app would write it.
 */
import { createCliApp } from '../../bin/cli-app';
import { applyNagChecks } from '../../bin/nag';
import { TimeSeriesAnalyticsStack, timeSeriesAnalyticsPropsFromContext } from '../../lib/stacks';

const app = createCliApp();
const count = Number(app.node.tryGetContext('bench:pipelines') ?? 1);
if (!Number.isInteger(count) || count < 1) throw new Error(`context bench:pipelines must be a positive integer`);
const props = timeSeriesAnalyticsPropsFromContext(app);
for (let i = 1; i <= count; i++) {
  new TimeSeriesAnalyticsStack(app, `Pipeline${i}`, props);
}
applyNagChecks(app);
app.synth();
