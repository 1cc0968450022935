export * from './postgres-test-db.js';
export * from './redis-test-prefix.js';
