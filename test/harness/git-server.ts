// The Git server lives with the dev environment (the demo serves examples from it); tests use the same one.
export * from '../../src/cli/dev/git-server.ts';
