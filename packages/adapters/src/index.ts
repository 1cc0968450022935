export * from './local-fs/local-fs-blob-store.js';
export * from './s3/s3-blob-store.js';
export * from './postgres/postgres-database.js';
export * from './pglite/pglite-database.js';
export * from './redis/redis-coordination.js';
export * from './in-process/coordination.js';
export * from './in-process/job-queue.js';
export * from './bullmq/bullmq-job-queue.js';
