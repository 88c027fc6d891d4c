export * from './lambda-stream-processor';
export * from './flink-code';
export * from './flink-application-start';
export * from './flink-stream-processor';
export * from './remote-function';
export * from './stateful-functions-processor';
export * from './glue-streaming-etl';
export * from './kcl-consumer';
