// Тревога заполнения SE (SPEC SE-9, BY-5): уровень — наибольший пройденный порог (по умолчанию
// 80/90/95 %) заполнения по max_size или по файловой системе, что полнее. Событие журнала — на
// пересечение порога, а не на каждую загрузку. Вниз уровень отпускается с гистерезисом: заполнение,
// колеблющееся у порога (временные файлы, удаления), не сыплет событиями.
import type { Logger } from '@artstore/core';

/** На сколько процентных пунктов заполнение должно уйти ниже достигнутого порога, чтобы он снялся. */
export const ALARM_HYSTERESIS = 1;

export interface Usage {
  percent: number;
  /** Что полнее: предел max_size или файловая система. */
  source: 'max_size' | 'disk';
}

/**
 * Уровень тревоги при заполнении percent, если сейчас уровень current. Пороги по возрастанию;
 * 0 — ни один не пройден.
 */
export function alarmLevel(percent: number, thresholds: readonly number[], current: number): number {
  for (let i = thresholds.length - 1; i >= 0; i--) {
    const threshold = thresholds[i]!;
    const bar = threshold <= current ? threshold - ALARM_HYSTERESIS : threshold;
    if (percent >= bar) return threshold;
  }
  return 0;
}

export function createCapacityAlarm(options: {
  elementId: string;
  thresholds: readonly number[];
  logger: Logger;
}) {
  let level = 0;
  const top = options.thresholds.at(-1);
  return {
    get level() {
      return level;
    },
    /** Пересчитать уровень; при смене — одно событие capacity_alarm (рост — warn, верхний порог — error, спад — info). */
    update(usage: Usage, figures: Record<string, unknown>): void {
      const next = alarmLevel(usage.percent, options.thresholds, level);
      if (next === level) return;
      const event = {
        element_id: options.elementId,
        // Не «level»: это поле занято уровнем записи журнала.
        alarm_level: next,
        previous_alarm_level: level,
        percent: Math.round(usage.percent * 10) / 10,
        source: usage.source,
        ...figures,
      };
      if (next < level) options.logger.info(event, 'capacity_alarm');
      else if (next === top) options.logger.error(event, 'capacity_alarm');
      else options.logger.warn(event, 'capacity_alarm');
      level = next;
    },
  };
}
export type CapacityAlarm = ReturnType<typeof createCapacityAlarm>;
