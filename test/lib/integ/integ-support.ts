import { AssertionsProvider, AwsApiCall, IApiCall } from '@aws-cdk/integ-tests-alpha';
import { Environment } from 'aws-cdk-lib';

/** The provider that makes the waiter's repeated calls (set by `waitForAssertions`); it needs its own permissions. */
export function waiterProviderOf(call: IApiCall): AssertionsProvider {
  if (!(call instanceof AwsApiCall) || !call.waiterProvider) {
    throw new Error(`${call.node.path} is not an AWS API call with waitForAssertions`);
  }
  return call.waiterProvider;
}

/**
 * The account and region `cdk deploy` targets (the CLI sets CDK_DEFAULT_*). Integration stacks are bound to them:
 * DynamoDB tables with a customer-managed key (TableV2) cannot be rendered in a region-agnostic stack.
 */
export function deployEnvironment(): Environment {
  return { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
}
