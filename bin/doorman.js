#!/usr/bin/env node
// The installed `doorman` command runs the compiled CLI (built by `npm ci` through `prepare`).
import { runCli } from '../dist/src/cli.js';

runCli(process.argv.slice(2)).then((code) => process.exit(code));
