export { startIngesterModule, INGESTER_MODULE } from './main.js';
