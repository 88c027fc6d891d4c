export * from './streaming-foundation-stack';
export * from './pipeline-dashboard';
export * from './time-series-analytics-stack';
export * from './replay-permissions';
export * from './event-sourced-microservices-stack';
