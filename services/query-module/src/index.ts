export { startQueryModule, QUERY_MODULE } from './main.js';
