import { type CliCommand, intFlag, parseFlags, UsageError } from '../command.ts';
import { DEMO_SITES, startDemoStack } from '../demo/stack.ts';
import { createLogger, LOG_LEVELS } from '../logger.ts';
import { untilStopSignal } from '../signals.ts';

const usage = `Usage: slopeguard demo [options]

Runs the whole chain in one process: an MQTT broker (Aedes) with the recorder writing readings to
SQLite, the control center (dashboard and REST API) and simulated sites. Each site first publishes
its last 24 h of history, then goes live: the first site is in a storm (the Umyeonsan 2011 scenario)
that reaches level 3 or more 30 s to about 7 minutes after start, the second has a stuck tilt sensor, the
rest are calm. The demo provisions its accounts in <data-dir>/registry.sqlite
(fresh secrets every run) and prints a read-only observer account for MQTT clients such as
mosquitto_sub. Ctrl-C stops everything cleanly.

Options:
  --host ADDR         address to bind (default 127.0.0.1)
  --mqtt-port N       MQTT port (default 1883; 0 = any free port)
  --http-port N       dashboard and API port (default 8080; 0 = any free port)
  --data-dir DIR      where the SQLite file goes (default ./data)
  --sites N           number of simulated sites, 1-${DEMO_SITES.length} (default 3)
  --interval-ms N     sampling interval of the calm sites' sensors (default 1000)
  --log-level LEVEL   ${LOG_LEVELS.join(', ')} (default warn)
  -h, --help          this text`;

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run broker, recorder, control center and simulated sites in one process',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      host: { type: 'string', default: '127.0.0.1' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      'data-dir': { type: 'string', default: './data' },
      sites: { type: 'string' },
      'interval-ms': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
    });
    const sites = intFlag(values.sites, 'sites', 3);
    if (sites < 1 || sites > DEMO_SITES.length)
      throw new UsageError(`--sites must be 1-${DEMO_SITES.length}`);
    const level = values['log-level'] ?? 'warn';
    if (!LOG_LEVELS.includes(level))
      throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    const logger = createLogger(level, { component: 'demo' });

    const stack = await startDemoStack({
      host: values.host ?? '127.0.0.1',
      mqttPort: intFlag(values['mqtt-port'], 'mqtt-port', 1883),
      httpPort: intFlag(values['http-port'], 'http-port', 8080),
      dataDir: values['data-dir'] ?? './data',
      sites,
      intervalMs: intFlag(values['interval-ms'], 'interval-ms', 1000),
      logger,
      story: true,
      onNotification: (d) =>
        console.log(
          `[SMS gateway 문자 게이트웨이] to ${d.to}, alert ${d.alert}, level ${d.level}: ${d.subject}`,
        ),
    });
    const roleText: Record<string, string> = {
      storm: 'storm (Umyeonsan 2011 replayed): level 3+ in about a minute / 폭우, 약 1분 뒤 경계 이상',
      faulty: 'a stuck tilt sensor / 경사계 고장',
      calm: 'calm / 평온',
    };

    console.log(
      [
        '',
        'Slopeguard demo is running. 데모가 실행 중입니다.',
        `  Dashboard  대시보드   ${stack.dashboardUrl}`,
        `  Sign in    로그인     user ${stack.admin.username}, password ${stack.admin.password} (admin, new every run)`,
        `  REST API              ${stack.dashboardUrl}api/v1/sites`,
        `  Metrics               ${stack.dashboardUrl}metrics`,
        `  MQTT broker           ${stack.mqttUrl}`,
        `  Readings store        ${stack.dbPath}`,
        '  Sites      현장',
        ...stack.gateways.map((g) => `    ${g.site}  ${roleText[stack.roles.get(g.site) ?? 'calm']}`),
        '',
        `  Observer account      user ${stack.observer.username}, password ${stack.observer.password} (read-only, new every run)`,
        `  Watch the traffic:    mosquitto_sub -h ${new URL(stack.mqttUrl).hostname} -p ${stack.broker.port} -u ${stack.observer.username} -P ${stack.observer.password} -i ${stack.observer.username} -t 'slopeguard/v1/#' -v`,
        '',
        'Press Ctrl-C to stop. 종료하려면 Ctrl-C를 누르세요.',
      ].join('\n'),
    );

    stack.ready.then(
      () => console.log('24 h of history loaded; the sites are live. 24시간 이력 적재 완료, 실시간 수신 중.'),
      (err: Error) => logger.error({ err: err.message }, 'history not loaded'),
    );
    await untilStopSignal();
    console.log('\nStopping... 종료 중...');
    await stack.close();
    console.log('Stopped cleanly. 정상 종료.');
    return 0;
  },
};
