import { App, Stack } from 'aws-cdk-lib';
import { LiveAnalyticsDatabase } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'TimeSeries');
export const db = new LiveAnalyticsDatabase(stack, 'LiveAnalytics');
// Writers: call db.grantWrite(role) and take db.writerEnvironment() (db.databaseName, table db.tableName).
