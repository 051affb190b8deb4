import { Command, Option } from 'commander';
import { COMPAT_FLAGS, OPERATOR_FLAGS, normalizeSwitches, resolveConfig, type RawOptions } from '../config/config.ts';
import { createLogger } from '../runtime/log/logger.ts';
import { devDown, devStatus, devSupervise, devUp } from './dev/dev.ts';
import { buildCommand, diffCommand } from './commands/build.ts';
import { checkCommand } from './commands/check.ts';
import { createCommand } from './commands/create.ts';
import { eventsCommand } from './commands/events.ts';
import { exportCommand } from './commands/export.ts';
import { getCommand } from './commands/get.ts';
import { globalOptions } from './commands/globals.ts';
import { cliIO, parseProgram, type CliIOOptions } from './commands/io.ts';
import { logsCommand } from './commands/logs.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { resumeCommand, suspendCommand } from './commands/suspend.ts';
import { treeCommand } from './commands/tree.ts';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

function operatorCommand(): Command {
  const cmd = new Command('operator').description('run every Flotilla controller in this process');
  for (const f of OPERATOR_FLAGS) {
    const opt = new Option(f.flag, f.help);
    if (f.default !== undefined) opt.default(undefined, f.default);
    cmd.addOption(opt);
  }
  for (const f of COMPAT_FLAGS) cmd.addOption(new Option(f.flag, f.help).hideHelp());
  cmd.action(async (raw: RawOptions) => {
    const cfg = resolveConfig(raw);
    const log = createLogger(cfg.logLevel, process.stdout);
    if (cfg.ignoredFlags.length) log.info({ flags: cfg.ignoredFlags }, 'Flux flags accepted for compatibility; they have no effect in Flotilla');
    const { startOperator } = await import('../main.ts');
    const op = await startOperator(cfg, log);
    log.info({ metrics: op.urls.metrics, health: op.urls.health, artifacts: op.urls.artifacts }, 'flotilla operator started');
    const stop = (): void => {
      log.info('shutting down');
      op.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await new Promise(() => undefined);
  });
  return cmd;
}

function devCommand(): Command {
  const dev = new Command('dev').description('a local control plane with the operator, for trying Flotilla and for tests');
  dev
    .command('up')
    .description('start a local control plane, install the CRDs and run the operator in the background')
    .option('--dir <dir>', 'state directory', '.flotilla/dev')
    .option('--no-operator', 'do not start the operator')
    .option('--no-fake-kubelet', 'do not play the kubelet (pods stay Pending)')
    .argument('[operatorArgs...]', 'extra operator flags after --')
    .action(async (operatorArgs: string[], o: { dir: string; operator: boolean; fakeKubelet: boolean }) => {
      const ep = await devUp({ dir: o.dir, operator: o.operator, fakeKubelet: o.fakeKubelet, operatorArgs }, out);
      out(`  kubeconfig:  ${o.dir}/kubeconfig`);
      out(`  apiserver:   ${ep.apiserver}`);
      out(`  artifacts:   ${ep.artifacts}`);
      out(`  metrics:     ${ep.metrics}/metrics`);
      out(`  receiver:    ${ep.receiver}`);
      out(`  operator log: ${o.dir}/operator.log`);
      out(`Try: kubectl --kubeconfig ${o.dir}/kubeconfig get crds`);
    });
  dev
    .command('down')
    .description('stop everything `dev up` started')
    .option('--dir <dir>', 'state directory', '.flotilla/dev')
    .action(async (o: { dir: string }) => devDown(o.dir, out));
  dev
    .command('status')
    .description('is the dev environment running, and where')
    .option('--dir <dir>', 'state directory', '.flotilla/dev')
    .action(async (o: { dir: string }) => {
      const st = await devStatus(o.dir);
      if (!st.running) {
        out(`dev environment in ${o.dir}: not running`);
        process.exitCode = 1;
        return;
      }
      out(`dev environment in ${o.dir}: running`);
      out(JSON.stringify(st.endpoints, null, 2));
    });
  dev
    .command('supervise', { hidden: true })
    .option('--dir <dir>', 'state directory', '.flotilla/dev')
    .option('--no-operator')
    .option('--no-fake-kubelet')
    .argument('[operatorArgs...]')
    .action(async (operatorArgs: string[], o: { dir: string; operator: boolean; fakeKubelet: boolean }) =>
      devSupervise({ dir: o.dir, operator: o.operator, fakeKubelet: o.fakeKubelet, operatorArgs }),
    );
  return dev;
}

function demoCommand(): Command {
  return new Command('demo')
    .description('start the dev environment, serve examples/quickstart from a local Git server and reconcile it')
    .option('--dir <dir>', 'state directory', '.flotilla/dev')
    .action(async (o: { dir: string }) => {
      const { runDemo } = await import('./dev/demo.ts');
      process.exitCode = await runDemo(o.dir, out, async (argv) => {
        await runCli(['node', 'flotilla', ...argv]);
      });
    });
}

/**
 * Runs the CLI. `ioOptions` injects the output writers (tests run the CLI in-process);
 * returns the exit code a command asked for, or undefined.
 */
export async function runCli(argv: string[], ioOptions: CliIOOptions = {}): Promise<number | undefined> {
  const io = cliIO(ioOptions);
  const program = new Command('flotilla')
    .description('Flotilla: a GitOps operator for Kubernetes, compatible with Flux v2')
    .version('0.1.0')
    .showHelpAfterError()
    .enablePositionalOptions();
  for (const o of globalOptions()) program.addOption(o);
  program.addCommand(operatorCommand());
  program.addCommand(devCommand());
  program.addCommand(demoCommand());
  const ioCommands = [
    checkCommand,
    getCommand,
    reconcileCommand,
    suspendCommand,
    resumeCommand,
    eventsCommand,
    logsCommand,
    treeCommand,
    createCommand,
    exportCommand,
    buildCommand,
    diffCommand,
  ];
  for (const command of ioCommands) program.addCommand(command(io));
  return parseProgram(program, normalizeSwitches(argv), io);
}
