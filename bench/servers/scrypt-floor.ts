import * as ScryptNamespace from 'scrypt-kdf';
import { SCRYPT_PARAMS } from '../../src/members/passwords.js';
import { serve } from './ipc.js';

const Scrypt = (ScryptNamespace as unknown as { default: typeof ScryptNamespace }).default;

/**
 * Raw scrypt-kdf in a process started the way `npm start` starts Doorman (its environment, glibc's
 * malloc settings included, and its Node flags): the accept suite's second floor, which tells what
 * Doorman gains from how it is run apart from what its own code costs.
 */
serve(
  { url: '' },
  {
    async hash(message) {
      const count = Number(message.count);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await Promise.all(Array.from({ length: count }, () => Scrypt.kdf(String(message.password), SCRYPT_PARAMS)));
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      return { rate: count / seconds, cpuMs: (cpu.user + cpu.system) / 1000 / count, systemMs: cpu.system / 1000 / count };
    },
  },
  async () => undefined,
);
