import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  LOCAL_AWS,
  LocalServer,
  startDynalite,
  startInfluxDb,
  startKinesisLocal,
  startMotoServer,
  startS3rver,
} from './servers';

/** Which servers a run needs. */
export interface LocalServerSet {
  readonly kinesis: boolean;
  readonly dynamodb: boolean;
  readonly s3: boolean;
  readonly moto: boolean;
  readonly influxdb: boolean;
}

/**
 * The local servers of one run and a client for each. Every server is a child process bound to 127.0.0.1 on a free
 * port, stopped by PID in `stop()`.
 */
export class LocalEnvironment {
  public static async start(needs: LocalServerSet): Promise<LocalEnvironment> {
    const env = new LocalEnvironment();
    const starts: Array<Promise<void>> = [];
    const track = (name: keyof LocalEnvironment['servers'], start: () => Promise<LocalServer>) => {
      starts.push(
        start().then((server) => {
          env.servers[name] = server;
        }),
      );
    };
    // Restartable, so a fault test can take Kinesis or DynamoDB away for a while and bring the same data back.
    if (needs.kinesis) track('kinesis', () => startKinesisLocal({ restartable: true }));
    if (needs.dynamodb) track('dynamodb', () => startDynalite({ persistent: true }));
    if (needs.s3) track('s3', startS3rver);
    if (needs.moto) track('moto', startMotoServer);
    if (needs.influxdb) track('influxdb', startInfluxDb);
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await env.stop();
      throw failed.reason;
    }
    return env;
  }

  public readonly servers: {
    kinesis?: LocalServer;
    dynamodb?: LocalServer;
    s3?: LocalServer;
    moto?: LocalServer;
    influxdb?: LocalServer;
  } = {};

  private readonly clients: Array<{ destroy(): void }> = [];

  private constructor() {}

  /** A Kinesis client for kinesis-local (HTTP/1.1: it does not speak the HTTP/2 the SDK may negotiate). */
  public kinesis(): KinesisClient {
    return this.track(
      new KinesisClient({ ...LOCAL_AWS, endpoint: this.endpoint('kinesis'), requestHandler: new NodeHttpHandler() }),
    );
  }

  public dynamodb(): DynamoDBClient {
    return this.track(new DynamoDBClient({ ...LOCAL_AWS, endpoint: this.endpoint('dynamodb') }));
  }

  public s3(): S3Client {
    return this.track(
      new S3Client({
        region: LOCAL_AWS.region,
        endpoint: this.endpoint('s3'),
        forcePathStyle: true,
        credentials: LOCAL_AWS.credentials,
      }),
    );
  }

  public sqs(): SQSClient {
    return this.track(new SQSClient({ ...LOCAL_AWS, endpoint: this.endpoint('moto') }));
  }

  public eventBridge(): EventBridgeClient {
    return this.track(new EventBridgeClient({ ...LOCAL_AWS, endpoint: this.endpoint('moto') }));
  }

  public endpoint(server: keyof LocalEnvironment['servers']): string {
    const s = this.servers[server];
    if (!s) throw new Error(`the ${server} server is not running in this local environment`);
    return s.endpoint;
  }

  /**
   * The environment a function or the AWS CLI needs to reach the local servers: credentials, region and the
   * `AWS_ENDPOINT_URL_<SERVICE>` variables SDK v3 and the CLI honour (s3rver accepts the same credentials).
   */
  public awsEnvironment(): Record<string, string> {
    const env: Record<string, string> = {
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      AWS_REGION: LOCAL_AWS.region,
      AWS_DEFAULT_REGION: LOCAL_AWS.region,
    };
    const set = (name: string, server: keyof LocalEnvironment['servers']) => {
      if (this.servers[server]) env[name] = this.servers[server]!.endpoint;
    };
    set('AWS_ENDPOINT_URL_KINESIS', 'kinesis');
    set('AWS_ENDPOINT_URL_DYNAMODB', 'dynamodb');
    set('AWS_ENDPOINT_URL_S3', 's3');
    set('AWS_ENDPOINT_URL_SQS', 'moto');
    set('AWS_ENDPOINT_URL_EVENTBRIDGE', 'moto');
    set('AWS_ENDPOINT_URL_SNS', 'moto');
    set('AWS_ENDPOINT_URL_SECRETS_MANAGER', 'moto');
    if (this.servers.s3) env.AWS_S3_FORCE_PATH_STYLE = 'true';
    return env;
  }

  /** Lines a person can paste to reach the servers with the AWS CLI. */
  public cliHints(): string[] {
    const lines = [
      // AWS CLI v1 reads AWS_DEFAULT_REGION only, v2 both.
      `export AWS_ACCESS_KEY_ID=${LOCAL_AWS.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_AWS.credentials.secretAccessKey} AWS_REGION=${LOCAL_AWS.region} AWS_DEFAULT_REGION=${LOCAL_AWS.region}`,
    ];
    if (this.servers.kinesis) lines.push(`aws --endpoint-url ${this.servers.kinesis.endpoint} kinesis list-streams`);
    if (this.servers.dynamodb) lines.push(`aws --endpoint-url ${this.servers.dynamodb.endpoint} dynamodb list-tables`);
    if (this.servers.s3) {
      lines.push(`aws --endpoint-url ${this.servers.s3.endpoint} s3 ls`);
    }
    if (this.servers.moto) lines.push(`aws --endpoint-url ${this.servers.moto.endpoint} sqs list-queues`);
    if (this.servers.influxdb) {
      lines.push(`curl -G '${this.servers.influxdb.endpoint}/query' --data-urlencode 'q=SHOW DATABASES'`);
    }
    return lines;
  }

  /** Takes a server away for `downMs` and brings it back on the same endpoint with the same data. */
  public async restart(server: keyof LocalEnvironment['servers'], downMs: number): Promise<void> {
    const s = this.servers[server];
    if (!s?.restart) throw new Error(`the ${server} server of this environment cannot be restarted`);
    await s.restart(downMs);
  }

  /** Stops every server this environment started (by PID) and closes its clients. */
  public async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.destroy();
    const servers = Object.values(this.servers).filter((s): s is LocalServer => s !== undefined);
    await Promise.allSettled(servers.map((s) => s.stop()));
  }

  private track<T extends { destroy(): void }>(client: T): T {
    this.clients.push(client);
    return client;
  }
}
