export * from './source';
export * from './ingestion';
export * from './storage';
export * from './processing';
export * from './destination';
export * from './stacks';
