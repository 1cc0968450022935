export * from './postgres-test-db.js';
export * from './redis-cluster.js';
export * from './redis-test-prefix.js';
export * from './s3-test-server.js';
export * from './test-databases.js';
export * from './service-backends.js';
