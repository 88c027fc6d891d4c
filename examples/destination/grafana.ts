import { App, Stack } from 'aws-cdk-lib';
import { GrafanaAuthenticationProvider, GrafanaVisualisation } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Dashboards');
new GrafanaVisualisation(stack, 'Grafana', {
  authenticationProviders: [GrafanaAuthenticationProvider.AWS_SSO],
});
