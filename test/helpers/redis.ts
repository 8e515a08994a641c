/** A Redis client for a test, once it is ready to take commands. */
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/storage/redis.js';
import { silent } from './databases.js';

export async function readyRedis(url: string): Promise<Redis> {
  const redis = createRedis(url, silent);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}
