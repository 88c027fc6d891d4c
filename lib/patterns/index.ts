export * from './command-schemas';
export * from './read-model';
