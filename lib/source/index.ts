// Constructs of this layer are exported here.
export {};
