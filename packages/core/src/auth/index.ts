export * from './permissions.js';
export * from './grants.js';
export * from './principal.js';
export * from './jwt-verifier.js';
export * from './service-token.js';
