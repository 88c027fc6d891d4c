import { App, Stack } from 'aws-cdk-lib';
import { InfluxDbDatabase } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'TimeSeries');
export const db = new InfluxDbDatabase(stack, 'Influx');
// Writers: run in db.vpc / db.writerSubnets with db.writerSecurityGroup, call db.grantWrite(role) and take
// db.writerEnvironment() (db.endpointUrl, https://<endpoint>:8086, organization db.organization, bucket db.bucket).
