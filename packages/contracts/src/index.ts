export * from './files.js';
export * from './auth.js';
export * from './metadata.js';
