export { startAdminModule, openAuditLog, ADMIN_MODULE } from './main.js';
export { exportAudit, type AuditExportFormat } from './domain/audit-export.js';
