export * from './files.js';
export * from './auth.js';
export * from './metadata.js';
export * from './storage.js';
export * from './storage-elements.js';
export * from './storage-encoding.js';
export * from './transactions.js';
export * from './uploads.js';
