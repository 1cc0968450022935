// Схема ingester-module (SPEC IN-4, IN-6): журнал саг загрузки и журнал координатора переносов.
// Ingester сам без состояния: всё, что нужно другому экземпляру, чтобы довести или откатить начатое, — здесь.
import type { Migration } from '@artstore/core';

export const ingesterMigrations: readonly Migration[] = [];
