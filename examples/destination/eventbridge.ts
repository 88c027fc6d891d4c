import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { EventBridgeDestination } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Events');
const publisher = iam.Role.fromRoleName(stack, 'Publisher', 'anomaly-publisher');
const anomalies = new EventBridgeDestination(stack, 'Anomalies');
anomalies.grantPutEvents(publisher);
