/**
 * SDK for remote stateful functions called by the Flink stateful-functions runtime (protocol and guide:
 * `lambda/functions/README.md`). Functions must be deterministic per (address, stateVersion, messages): the runtime
 * resends the same invocation after a restore or a timeout and expects the same response.
 */
export * from './protocol';
export * from './function';
export * from './payload';
export * from './json';
export * from './http';
