import { App, Stack } from 'aws-cdk-lib';
import { ArchiveFormat, ArchivePartitioning, S3ArchiveDestination, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'PartitionedArchive');
const raw = new StreamStore(stack, 'Raw');
// Objects under data/deviceId=<id>/year=/month=/day=/hour=/, one JSON record per line.
new S3ArchiveDestination(stack, 'RawArchive', {
  stream: raw.stream,
  format: ArchiveFormat.JSON,
  partitioning: ArchivePartitioning.fromJqQuery([{ name: 'deviceId', jqExpression: '.deviceId' }]),
});
