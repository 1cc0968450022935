export * from './document.js';
export * from './discovery-client.js';
export * from './follow-elements.js';
export * from './publish.js';
export * from './from-config.js';
