import { hashFloor } from '../lib/scrypt-floor.js';
import { serve } from './ipc.js';

/**
 * The accept suite's second floor: the same raw hashes as its first, in a process started the way
 * `npm start` starts Doorman (its environment, glibc's malloc settings included, and its Node flags),
 * which tells what Doorman gains from how it is run apart from what its own work costs.
 */
serve({ url: '' }, { hash: (message) => hashFloor(Number(message.count), String(message.password)) }, async () => undefined);
