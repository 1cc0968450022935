export * from './files.js';
export * from './auth.js';
export * from './metadata.js';
export * from './storage.js';
