import { type DeviceProtocol, runVirtualDevice } from '@slopeguard/simulators/devices/run.ts';
import { getScenario, SCENARIO_NAMES, type ScenarioRun } from '@slopeguard/simulators/scenarios/index.ts';
import { stringify } from 'yaml';
import { type CliCommand, intFlag, parseFlags, UsageError } from '../command.ts';

const usage = `Usage: slopeguard sim device <modbus|sdi12|line> [options]

Runs a virtual serial device until Ctrl-C. Without --port it starts a socat pseudo-terminal pair
(Debian package socat) and prints the path the gateway should open, with a driver block for
gateway.yaml: the gateway reads the virtual device exactly as it reads hardware.

  modbus   Modbus RTU slave: unit 1 inclinometer-generic, unit 2 rain-counter-generic (or --unit)
  sdi12    SDI-12 bus: rain gauge at 1, piezometer at 3, soil-moisture probe at 5 (aM!/aMC!/aDn!)
  line     line-protocol node pushing tilt, rain count and displacement (docs/line-protocol.md)

Options:
  --port PATH        serial path for the device end (a real port on a bench); default: socat pair
  --baud N           baud rate (default per protocol: 9600, 1200, 115200)
  --unit N=MODEL     modbus: unit address and register map, repeatable
  --node ID          line: node id (default n1)
  --interval-ms N    line: send period (default 1000)
  --seed N           seed of the simulated signal (default 1)
  --scenario NAME    drive the device from a scenario model; its sensors and ids become the
                     device's (modbus carries the tilt and rain sensors). Known:
                     ${SCENARIO_NAMES.join(', ')}
  --speed N          scenario time runs N times faster than real time (default 1); start the
                     gateway with --time-scale N --time-start <printed start> to match
  --noise P          fault injection: probability of noise bytes before a transmission (0..1)
  --corrupt P        fault injection: probability of a flipped bit in a transmission
  --delay-ms N       fault injection: delay every transmission (a slow device)
  --drop P           fault injection: probability that a transmission is lost
  -h, --help         this text`;

const PROTOCOLS: readonly DeviceProtocol[] = ['modbus', 'sdi12', 'line'];

function prob(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--${name} must be between 0 and 1`);
  return n;
}

export const simCommand: CliCommand = {
  name: 'sim',
  summary: 'virtual hardware: `sim device modbus|sdi12|line` on a pseudo-terminal',
  usage,
  async run(argv) {
    const [sub, protocol, ...rest] = argv;
    if (sub !== 'device') throw new UsageError(`unknown sim subcommand ${JSON.stringify(sub ?? '')}`);
    if (!PROTOCOLS.includes(protocol as DeviceProtocol))
      throw new UsageError(`protocol must be one of ${PROTOCOLS.join(', ')}`);
    const { values } = parseFlags(rest, {
      port: { type: 'string' },
      baud: { type: 'string' },
      unit: { type: 'string', multiple: true },
      node: { type: 'string' },
      'interval-ms': { type: 'string' },
      seed: { type: 'string' },
      noise: { type: 'string' },
      corrupt: { type: 'string' },
      'delay-ms': { type: 'string' },
      drop: { type: 'string' },
      scenario: { type: 'string' },
      speed: { type: 'string' },
    });
    let scenario: { run: ScenarioRun; speed: number } | undefined;
    if (values.scenario !== undefined) {
      const s = getScenario(values.scenario);
      if (!s)
        throw new UsageError(
          `unknown scenario ${JSON.stringify(values.scenario)}; known: ${SCENARIO_NAMES.join(', ')}`,
        );
      const speed = values.speed === undefined ? 1 : Number(values.speed);
      if (!(speed > 0)) throw new UsageError('--speed must be a positive number');
      scenario = { run: s.create({ seed: intFlag(values.seed, 'seed', 1) }), speed };
    } else if (values.speed !== undefined) {
      throw new UsageError('--speed needs --scenario');
    }
    const units = values.unit?.map((u): [number, string] => {
      const m = /^(\d{1,3})=([a-z0-9][a-z0-9-]{0,62})$/.exec(u);
      const n = Number(m?.[1]);
      if (!m?.[2] || n < 1 || n > 247) throw new UsageError(`--unit ${u}: expected N=MODEL with N in 1..247`);
      return [n, m[2]];
    });
    const faults = {
      ...optional('noise', prob(values.noise, 'noise')),
      ...optional('corrupt', prob(values.corrupt, 'corrupt')),
      ...optional('drop', prob(values.drop, 'drop')),
      ...(values['delay-ms'] ? { delayMs: intFlag(values['delay-ms'], 'delay-ms', 0) } : {}),
    };
    const baud = values.baud === undefined ? undefined : intFlag(values.baud, 'baud', 0);
    const interval =
      values['interval-ms'] === undefined ? undefined : intFlag(values['interval-ms'], 'interval-ms', 1000);
    const dev = await runVirtualDevice({
      protocol: protocol as DeviceProtocol,
      seed: intFlag(values.seed, 'seed', 1),
      faults,
      ...(values.port ? { port: values.port } : {}),
      ...(baud ? { baudRate: baud } : {}),
      ...(units ? { units } : {}),
      ...(values.node ? { node: values.node } : {}),
      ...(interval ? { intervalMs: interval } : {}),
      ...(scenario ? { scenario } : {}),
    });
    console.log(`virtual ${protocol} device running; gateway port: ${dev.gatewayPort}`);
    if (scenario) {
      const start = new Date(scenario.run.start).toISOString();
      console.log(
        `scenario ${scenario.run.name} from ${start} (epoch ms ${scenario.run.start}) at ${scenario.speed}x`,
      );
      if (dev.skipped.length > 0) console.log(`not carried by ${protocol}: ${dev.skipped.join(', ')}`);
    }
    console.log('driver block for gateway.yaml:\n');
    console.log(stringify({ drivers: [dev.driverConfig] }));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dev.stop();
    return 0;
  },
};

function optional<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}
