import { type CliCommand, parseFlags, UsageError } from '../command.ts';

const usage = `Usage: slopeguard edge --config FILE [options]

Runs the gateway agent: reads the sensors of one site, keeps every reading in a durable local queue,
forwards them to the broker, runs the alert rules locally and drives sirens and lights even without
an uplink. docs/gateway.md describes the config file; docs/raspberry-pi.md the installation.

Options:
  --config FILE        gateway config (YAML), required
  --check              validate the config, print every error, and exit (0 = valid, 78 = invalid)
  --log-level LEVEL    override log.level from the config
  --time-scale N       TEST ONLY: run the gateway clock N times faster than real time
  --time-start MS      TEST ONLY: simulated epoch ms at --time-anchor (default: the anchor)
  --time-anchor MS     TEST ONLY: real epoch ms where simulated time starts (default: now)
  -h, --help           this text

Environment: SLOPEGUARD_MQTT_URL, SLOPEGUARD_MQTT_USERNAME, SLOPEGUARD_MQTT_PASSWORD override uplink.*.
Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config.`;

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number`);
  return n;
}

export const edgeCommand: CliCommand = {
  name: 'edge',
  summary: 'run the gateway agent (sensors -> durable queue -> broker, local alarms)',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: { type: 'string' },
      check: { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      'time-scale': { type: 'string' },
      'time-start': { type: 'string' },
      'time-anchor': { type: 'string' },
    });
    if (!values.config) throw new UsageError('--config is required');
    // Loaded here, not at the top: other subcommands need not load the gateway's code.
    const { runEdge } = await import('@slopeguard/edge/main.ts');
    return runEdge({
      configPath: values.config,
      check: values.check ?? false,
      ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
      ...optional('timeScale', num(values['time-scale'], 'time-scale')),
      ...optional('timeStart', num(values['time-start'], 'time-start')),
      ...optional('timeAnchor', num(values['time-anchor'], 'time-anchor')),
      out: { error: (t) => console.error(t), info: (t) => console.log(t) },
    });
  },
};

function optional<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}
