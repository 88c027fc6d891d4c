export * from './streaming-foundation-stack';
