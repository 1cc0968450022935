export * from './server.js';
export * from './metrics.js';
export * from './problem.js';
export * from './content-disposition.js';
export * from './listen.js';
export * from './conditional-range.js';
export * from './service-client.js';
export * from './circuit-breaker.js';
