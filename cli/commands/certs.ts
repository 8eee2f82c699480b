import { BrokerError, createCa, createDeviceCert, createServerCert } from '@slopeguard/broker';
import { type CliCommand, intFlag, parseFlags, UsageError } from '../command.ts';

const DEFAULT_DIR = './data/certs';

const usage = `Usage: slopeguard certs <action> [options]

Makes a private certificate authority and certificates for the broker's TLS listener and for
gateways (small deployments). Uses the \`openssl\` command (Debian package openssl): node:crypto
cannot sign X.509 certificates. Keys are EC P-256 and written with mode 0600.

Actions:
  ca [--cn NAME] [--force]                 create ca.crt and ca.key
  server --host NAME[,NAME...]             server.crt/.key for the broker (DNS names or IPs)
  device --site S --gateway G              <site>.<gateway>.crt/.key, CN = the gateway's username

Options:
  --dir DIR     where the files go (default ${DEFAULT_DIR})
  --days N      validity (default 3650 for the CA, 825 otherwise)
  -h, --help    this text

The broker uses them with: tls: { host, port, certFile: server.crt, keyFile: server.key,
caFile: ca.crt, requireClientCert: true }.`;

export const certsCommand: CliCommand = {
  name: 'certs',
  summary: 'make a private CA and TLS certificates for the broker and gateways (openssl)',
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values } = parseFlags(rest, {
      dir: { type: 'string', default: DEFAULT_DIR },
      days: { type: 'string' },
      cn: { type: 'string' },
      force: { type: 'boolean', default: false },
      host: { type: 'string' },
      site: { type: 'string' },
      gateway: { type: 'string' },
    });
    const dir = values.dir ?? DEFAULT_DIR;
    const days = values.days === undefined ? undefined : intFlag(values.days, 'days', 825);
    try {
      switch (action) {
        case 'ca': {
          const ca = await createCa(dir, { cn: values.cn, days, force: values.force });
          console.log(
            `CA certificate ${ca.cert}\nCA key         ${ca.key} (keep it off the broker if you can)`,
          );
          return 0;
        }
        case 'server': {
          const hosts = (values.host ?? '').split(',').filter((h) => h !== '');
          if (hosts.length === 0) throw new UsageError('server needs --host');
          const c = await createServerCert(dir, hosts, { days });
          console.log(`server certificate ${c.cert}\nserver key         ${c.key}`);
          return 0;
        }
        case 'device': {
          if (!values.site || !values.gateway) throw new UsageError('device needs --site and --gateway');
          const c = await createDeviceCert(dir, values.site, values.gateway, { days });
          console.log(`device certificate ${c.cert}\ndevice key         ${c.key}`);
          return 0;
        }
        default:
          throw new UsageError(action ? `unknown action ${JSON.stringify(action)}` : 'an action is required');
      }
    } catch (err) {
      if (err instanceof BrokerError) {
        console.error(`slopeguard certs: ${err.message} (${err.code})`);
        return 1;
      }
      throw err;
    }
  },
};
