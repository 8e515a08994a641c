/**
 * A garbage collection on demand, for tests that bound the memory a request
 * holds: what earlier tests left for the collector would otherwise hide growth
 * behind the baseline.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
export const collectGarbage = runInNewContext('gc') as () => void;
