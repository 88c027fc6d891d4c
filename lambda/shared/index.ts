export * from './batch';
export * from './clients';
export * from './dead-letter';
export * from './errors';
export * from './kpl';
export * from './observability';
export * from './records';
