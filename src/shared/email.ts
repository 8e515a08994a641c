/**
 * What counts as an email address, in one place: the API's user creation, the
 * CLI (which refuses before it reaches the database) and ADMIN_EMAIL. Loose on
 * purpose: one @ with something on each side and no whitespace, so the default
 * admin@localhost is valid; mail is never sent to these addresses.
 */
import { z } from 'zod';

export const emailAddress = z.string().max(320, 'must be at most 320 characters').regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
