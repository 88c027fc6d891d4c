export * from './device-fleet-simulator';
