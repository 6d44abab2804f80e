import { startApp } from './app.js';
import { loadConfig } from './config.js';
import { ConfigError } from './shared/errors.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`doorman: cannot start: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, logger).catch((error: Error & { code?: string }) => {
    const reason =
      error.code === 'EADDRINUSE'
        ? `PORT: ${config.port} is already in use`
        : error.code === 'EACCES' && (error as { syscall?: string }).syscall === 'listen'
          ? `PORT: ${config.port} needs more privileges`
          : error.message;
    logger.fatal({ err: error }, `cannot start: ${reason}`);
    // The same one line as a bad environment value, where an operator looks first.
    process.stderr.write(`doorman: cannot start: ${reason}\n`);
    process.exit(1);
  });

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'stopping');
    const forced = setTimeout(() => process.exit(1), 15_000);
    forced.unref();
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
