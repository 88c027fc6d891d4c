export * from './protocol';
export * from './function';
export * from './payload';
export * from './http';
