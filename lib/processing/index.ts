export * from './lambda-stream-processor';
