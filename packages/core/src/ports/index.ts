export type * from './database.js';
export type * from './coordination.js';
export type * from './job-queue.js';
export type * from './blob-store.js';
