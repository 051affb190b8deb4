import { Command, Option } from 'commander';
import { OPERATOR_FLAGS, resolveConfig, type RawOptions } from '../config/config.ts';
import { createLogger } from '../runtime/log/logger.ts';
import { devDown, devStatus, devSupervise, devUp } from './dev/dev.ts';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

function operatorCommand(): Command {
  const cmd = new Command('operator').description('run every Flotilla controller in this process');
  for (const f of OPERATOR_FLAGS) {
    const opt = new Option(f.flag, f.help);
    if (f.default !== undefined) opt.default(undefined, f.default);
    cmd.addOption(opt);
  }
  cmd.action(async (raw: RawOptions) => {
    const cfg = resolveConfig(raw);
    const log = createLogger(cfg.logLevel, process.stdout);
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

export async function runCli(argv: string[]): Promise<number | undefined> {
  const program = new Command('flotilla')
    .description('Flotilla: a GitOps operator for Kubernetes, compatible with Flux v2')
    .version('0.1.0')
    .showHelpAfterError()
    .enablePositionalOptions();
  program.addCommand(operatorCommand());
  program.addCommand(devCommand());
  await program.parseAsync(argv);
  return undefined;
}
