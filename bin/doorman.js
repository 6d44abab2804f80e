#!/usr/bin/env node
// The installed `doorman` command runs the compiled CLI (built by `npm ci` through `prepare`).
import '../dist/src/cli.js';
