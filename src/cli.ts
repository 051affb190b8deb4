#!/usr/bin/env node
import { runCli } from './cli/program.ts';

runCli(process.argv).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`✗ ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
