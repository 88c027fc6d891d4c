import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DynamoDbDestination } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'LatestState', { env: { region: 'eu-west-1' } });
const writer = iam.Role.fromRoleName(stack, 'Writer', 'telemetry-writer');
const latest = new DynamoDbDestination(stack, 'Latest');
latest.grantWriteData(writer);
