export { startAdminModule, openAuditLog, ADMIN_MODULE } from './main.js';
export { exportAudit, type AuditExportFormat } from './domain/audit-export.js';
export { openAuditTrail, type AuditReader, type AuditVerifyOptions } from './domain/audit-trail.js';
export { parseExpectedHead, type AuditVerdict, type ExpectedHead } from './domain/audit-verify.js';
export type { AuditPublicKey } from './domain/audit-key.js';
export { masterKeyFrom } from './domain/master-key.js';
