export * from './pipeline-dashboard';
export * from './replay-role';
