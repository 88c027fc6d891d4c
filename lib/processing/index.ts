export * from './lambda-stream-processor';
export * from './flink-stream-processor';
