import { readFileSync } from 'node:fs';
import { type CliCommand, parseFlags, UsageError } from '../command.ts';
import { createLogger } from '../logger.ts';
import { parseServerConfig } from '../server/config.ts';
import { loadSiteFiles } from '../server/site-files.ts';
import { startServer } from '../server/start.ts';
import { untilStopSignal } from '../signals.ts';

const usage = `Usage: slopeguard server --config server.yaml [--check]

Runs one installation's central services: the MQTT broker (authenticated; accounts from
'slopeguard device'), the recorder and its store (SQLite or InfluxDB), and the control center
(dashboard, REST API, official site levels from the alert engine). See docs/configuration.md.

Options:
  --config FILE   server configuration (YAML); every error is listed at once
  --check         validate the configuration and the site files, then exit (0 valid, 78 invalid)
  -h, --help      this text

Environment: SLOPEGUARD_INFLUX_PASSWORD, SLOPEGUARD_INFLUX_TOKEN override the file's secrets.`;

/** sysexits.h EX_CONFIG, as `slopeguard edge` uses: systemd and scripts can tell a bad config apart. */
const EX_CONFIG = 78;

export const serverCommand: CliCommand = {
  name: 'server',
  summary: 'run the broker, recorder, store and control center from a config file',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { config: { type: 'string' }, check: { type: 'boolean' } });
    if (!values.config) throw new UsageError('--config is required');
    let text: string;
    try {
      text = readFileSync(values.config, 'utf8');
    } catch (err) {
      console.error(`slopeguard server: cannot read ${values.config}: ${(err as Error).message}`);
      return EX_CONFIG;
    }
    const parsed = parseServerConfig(text);
    const sites = parsed.ok && parsed.value.sites_dir ? loadSiteFiles(parsed.value.sites_dir) : undefined;
    const errors = [...(parsed.ok ? [] : parsed.errors), ...(sites && !sites.ok ? sites.errors : [])];
    if (errors.length > 0 || !parsed.ok) {
      console.error(
        `slopeguard server: ${values.config} is not valid:\n${errors.map((e) => `  ${e}`).join('\n')}`,
      );
      return EX_CONFIG;
    }
    const siteConfigs = sites?.ok ? sites.configs : new Map();
    const areas = sites?.ok ? sites.areas : new Map();
    if (values.check) {
      console.log(`${values.config}: valid; ${siteConfigs.size} site file(s), ${areas.size} warning area(s)`);
      return 0;
    }
    const config = parsed.value;
    const logger = createLogger(config.log_level, { component: 'server' });
    const server = await startServer(config, siteConfigs, logger, areas);
    logger.info(
      {
        mqtt: server.broker.port,
        http: server.center?.url,
        cluster: config.cluster?.node,
        store: config.store.type,
        sites: siteConfigs.size,
      },
      'slopeguard server started',
    );
    await untilStopSignal();
    logger.info('stopping');
    await server.close();
    logger.info('stopped');
    return 0;
  },
};
