export * from './validation';
export * from './paths';
