#!/usr/bin/env node
// Точка входа команды artstore: TypeScript исполняется через tsx без шага сборки.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
