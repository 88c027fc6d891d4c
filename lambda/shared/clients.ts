import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * SDK clients for handlers. Endpoints follow the SDK's own `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`
 * variables, so the same code runs against local servers. Kinesis uses HTTP/1.1: its default HTTP/2 handler is
 * only needed for SubscribeToShard, and local Kinesis servers speak HTTP/1.1.
 */
export function kinesisClient(endpoint?: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3000, requestTimeout: 10000 }),
    maxAttempts: 3,
  });
}

export function sqsClient(endpoint?: string): SQSClient {
  return new SQSClient({ endpoint, maxAttempts: 3 });
}
