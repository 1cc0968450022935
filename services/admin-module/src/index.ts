export { startAdminModule, ADMIN_MODULE } from './main.js';
