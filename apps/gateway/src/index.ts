export { startGateway, GATEWAY } from './gateway.js';
export { upstreamFor } from './routes.js';
