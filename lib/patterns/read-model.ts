import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DynamoDbDestination } from '../destination';
import { handlerEntry } from '../internal';
import { LambdaStreamProcessor } from '../processing';

/** A stream the read model projects, and the name of its projection (`Projection-<name>`). */
export interface ReadModelInput {
  readonly name: string;
  readonly stream: kinesis.IStream;
}

export interface ReadModelProps {
  /** The egress streams (and replay streams) to project, one projection Lambda each. */
  readonly inputs: ReadModelInput[];
  /** Removal policy of the table and its key. */
  readonly removalPolicy: RemovalPolicy;
  /** Where the table's, the query API's and the projections' alarms notify. */
  readonly alarmTopic: sns.ITopic;
}

/**
 * One generation of the read model: a table (pk = aggregateType, sk = aggregateId) with its query API, and one
 * projection Lambda per input stream that may only PutItem into it.
 */
export class ReadModel extends Construct {
  public readonly table: DynamoDbDestination;
  public readonly projections: LambdaStreamProcessor[] = [];

  constructor(scope: Construct, id: string, props: ReadModelProps) {
    super(scope, id);
    this.table = new DynamoDbDestination(this, 'Table', {
      partitionKeyName: 'pk',
      sortKeyName: 'sk',
      removalPolicy: props.removalPolicy,
      enableReadApi: true,
      // The ingestion API of the stack configures the account's API Gateway logging role.
      // A distinct name per API: API Gateway metrics and alarms are keyed by ApiName.
      readApiOptions: {
        restApiName: `${Stack.of(this).stackName}-${id}`,
        cloudWatchRole: false,
        alarmTopic: props.alarmTopic,
      },
      alarmTopic: props.alarmTopic,
    });
    for (const input of props.inputs) {
      const projection = new LambdaStreamProcessor(this, `Projection-${input.name}`, {
        stream: input.stream,
        entry: handlerEntry('projection'),
        description: `Projects ${input.name} into the read model ${this.node.path}`,
        environment: { READ_MODEL_TABLE: this.table.table.tableName },
        // Several batches per shard in parallel: order per aggregate does not matter, the newest sequence wins.
        parallelizationFactor: 2,
        alarmTopic: props.alarmTopic,
      });
      // Only the conditional put the projection makes (grantWriteData would add Update/Delete/BatchWrite).
      projection.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [this.table.table.tableArn] }),
      );
      if (this.table.encryptionKey) {
        projection.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
            resources: [this.table.encryptionKey.keyArn],
          }),
        );
      }
      this.projections.push(projection);
    }
  }
}
