import {
  type Account,
  BrokerError,
  gatewayUsername,
  openDeviceRegistry,
  openRedisRegistry,
  ROLES,
  type ServiceRole,
} from '@slopeguard/broker';
import { type CliCommand, parseFlags, UsageError } from '../command.ts';

const DEFAULT_DB = './data/registry.sqlite';

const usage = `Usage: slopeguard device <action> [options]

Manages the MQTT accounts in the device registry (a SQLite file; the broker reads the same file).
Secrets are generated, printed once, and stored only as scrypt hashes.

Actions:
  add --site S --gateway G [--replace]     provision a gateway; prints its secret once
                                           (--replace: new secret; a running broker
                                           disconnects sessions of the old one within a second)
  account --name N --role R [--replace]    create a service account (roles: control-center,
                                           recorder, observer); prints its password once
  list [--site S] [--all] [--json]         list accounts (--all includes revoked ones)
  revoke --site S --gateway G | --name N   revoke an account; a running broker disconnects it
                                           within a second

Options:
  --db PATH     registry database (default ${DEFAULT_DB})
  --redis URL   the registry of a broker cluster instead (docs/deployment.md#cluster);
                or SLOPEGUARD_REDIS_URL. A change is reported only once it is in Redis.
  -h, --help    this text`;

function printCredentials(kind: string, username: string, secret: string): void {
  console.log(`Provisioned ${kind} ${username}`);
  console.log(`  username   ${username}`);
  console.log(`  client id  ${username}  (or ${username}-<suffix>)`);
  console.log(`  secret     ${secret}`);
  console.log('The secret is shown only now; the registry keeps a hash of it.');
}

function formatAccount(a: Account): string {
  const state = a.revokedAt === undefined ? 'active' : `revoked ${new Date(a.revokedAt).toISOString()}`;
  return `${a.username.padEnd(40)} ${a.role.padEnd(15)} ${new Date(a.createdAt).toISOString()}  ${state}`;
}

export const deviceCommand: CliCommand = {
  name: 'device',
  summary: 'provision, list and revoke gateways and MQTT service accounts',
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values } = parseFlags(rest, {
      db: { type: 'string', default: DEFAULT_DB },
      redis: { type: 'string' },
      site: { type: 'string' },
      gateway: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      replace: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    const redis = values.redis ?? process.env.SLOPEGUARD_REDIS_URL;
    const clustered = redis ? await openRedisRegistry({ url: redis }) : undefined;
    const registry = clustered ?? openDeviceRegistry(values.db ?? DEFAULT_DB);
    // With Redis, a change is in Redis (and announced to the nodes) before it is reported.
    const written = async () => clustered?.flush();
    try {
      switch (action) {
        case 'add': {
          if (!values.site || !values.gateway) throw new UsageError('add needs --site and --gateway');
          const secret = registry.addDevice(values.site, values.gateway, { replace: values.replace });
          await written();
          printCredentials('gateway', gatewayUsername(values.site, values.gateway), secret);
          return 0;
        }
        case 'account': {
          const role = values.role;
          if (!values.name || !role) throw new UsageError('account needs --name and --role');
          if (role === 'gateway' || !(ROLES as readonly string[]).includes(role)) {
            throw new UsageError('--role must be control-center, recorder or observer');
          }
          const secret = registry.addAccount(values.name, {
            role: role as ServiceRole,
            replace: values.replace,
          });
          await written();
          printCredentials(role, values.name, secret);
          return 0;
        }
        case 'list': {
          const accounts = registry.list({ site: values.site, includeRevoked: values.all });
          if (values.json) console.log(JSON.stringify(accounts, null, 2));
          else for (const a of accounts) console.log(formatAccount(a));
          return 0;
        }
        case 'revoke': {
          const username =
            values.name ??
            (values.site && values.gateway ? gatewayUsername(values.site, values.gateway) : undefined);
          if (!username) throw new UsageError('revoke needs --site and --gateway, or --name');
          if (!registry.revoke(username)) {
            console.error(`slopeguard device: no active account ${username}`);
            return 1;
          }
          await written();
          console.log(`Revoked ${username}`);
          return 0;
        }
        default:
          throw new UsageError(action ? `unknown action ${JSON.stringify(action)}` : 'an action is required');
      }
    } catch (err) {
      if (err instanceof BrokerError) {
        console.error(`slopeguard device: ${err.message} (${err.code})`);
        return 1;
      }
      throw err;
    } finally {
      registry.close();
    }
  },
};
