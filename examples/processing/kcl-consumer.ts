import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { KclConsumer, KclConsumerImage, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'DeviceState');
const vpc = new ec2.Vpc(stack, 'Vpc', { flowLogs: { all: {} } });
const enriched = new StreamStore(stack, 'Enriched');
// The Jib tarball pushed once with `crane push target/kcl-consumer-image.tar <repo>:0.1.0`; or, on a machine with a
// container runtime for `cdk deploy`, KclConsumerImage.fromTarball('flink-apps/kcl-consumer/target/kcl-consumer-image.tar').
const repository = ecr.Repository.fromRepositoryName(stack, 'Images', 'kcl-consumer');
new KclConsumer(stack, 'DeviceState', {
  stream: enriched.stream,
  image: KclConsumerImage.fromEcrRepository(repository, '0.1.0'),
  vpc,
  applicationName: 'device-state',
});
