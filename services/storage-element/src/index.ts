export { startStorageElement, storageBasePath, STORAGE_ELEMENT, type StorageElementDeps } from './main.js';
