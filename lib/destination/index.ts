// Constructs of this layer are exported here.
export {};
export * from './time-series-database';
