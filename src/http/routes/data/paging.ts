/** The list conventions of every data endpoint: keyset cursor in, `{items, next}` out. */
import type { KeyColumn, Page } from '../../../storage/repositories/keyset.js';
import { isKeyOf } from '../../../storage/repositories/keyset.js';
import type { PageRequest } from '../../../storage/repositories/readings.js';
import { decodeCursor, encodeCursor } from '../../schemas/common.js';

export function pageRequest(query: { limit: number; cursor?: string; order: 'asc' | 'desc' }, key: KeyColumn[]): PageRequest {
  return { after: decodeCursor(query.cursor, isKeyOf(key)), limit: query.limit, order: query.order };
}

export function listOf<R, T>(page: Page<R>, view: (row: R) => T): { items: T[]; next: string | null } {
  return { items: page.rows.map(view), next: page.next ? encodeCursor(page.next) : null };
}
