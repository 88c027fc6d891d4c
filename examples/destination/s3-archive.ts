import { App, Stack } from 'aws-cdk-lib';
import { S3ArchiveDestination, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Archive');
const raw = new StreamStore(stack, 'Raw');
new S3ArchiveDestination(stack, 'RawArchive', { stream: raw.stream });
