export * from './source';
export * from './ingestion';
export * from './storage';
export * from './processing';
export * from './destination';
export * from './operations';
export * from './patterns';
export * from './stacks';
