import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { applyNagChecks } from '../../../bin/nag';
import { StreamStore } from '../../../lib/storage';

const ENV = { account: '123456789012', region: 'eu-west-1' };

/** A stack holding only a StreamStore, for a construct under test to be added to. */
export function stackWithStream(): { app: App; stack: Stack; store: StreamStore } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: ENV });
  const store = new StreamStore(stack, 'Store');
  return { app, stack, store };
}

export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

/**
 * Synthesizes a stack containing only a StreamStore and what `build` adds, with the cdk-nag AWS Solutions pack:
 * `app.synth()` throws on any unacknowledged finding.
 */
export function synthWithNag(build: (stack: Stack, store: StreamStore) => void): void {
  const app = new App();
  applyNagChecks(app);
  const stack = new Stack(app, 'NagStack', { env: ENV });
  const store = new StreamStore(stack, 'Store');
  build(stack, store);
  app.synth();
}
