export * from './blob-store-contract.js';
export * from './database-contract.js';
export * from './coordination-contract.js';
export * from './job-queue-contract.js';
export * from './token-fixture.js';
