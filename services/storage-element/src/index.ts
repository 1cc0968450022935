export { rebuildStorageElementCache, startStorageElement, storageBasePath, STORAGE_ELEMENT, type StorageElementDeps } from './main.js';
