export * from './audit-event.js';
export * from './audit-client.js';
